#include <catch2/catch.hpp>

#include <set>

#include "core/event_catalog.hpp"
#include "store/case_db.hpp"
#include "support.hpp"

using namespace treeline;

namespace {
std::vector<std::string> names_of(const LayoutSpec* l) {
  std::vector<std::string> v;
  if (l)
    for (auto n : l->names) v.emplace_back(n);
  return v;
}
}  // namespace

TEST_CASE("4688 layouts: version 0, 1 and 2 carry different fields", "[catalog]") {
  const EventSpec* s = find_event_spec("Security", 4688);
  REQUIRE(s);
  auto v0 = names_of(s->layout_for(8));
  auto v1 = names_of(s->layout_for(9));
  auto v2 = names_of(s->layout_for(15));
  REQUIRE(v0.size() == 8);
  CHECK(v0[4] == "NewProcessId");
  CHECK(v0[7] == "ProcessId");
  CHECK(s->layout_for(8)->version == 0);
  REQUIRE(v1.size() == 9);
  CHECK(v1[8] == "CommandLine");
  CHECK(s->layout_for(9)->version == 1);
  REQUIRE(v2.size() == 15);
  CHECK(v2[12] == "TargetLogonId");
  CHECK(v2[13] == "ParentProcessName");
  CHECK(v2[14] == "MandatoryLabel");
  CHECK(s->layout_for(15)->version == 2);
  // Version 2 as some producers write it, without ParentProcessName/MandatoryLabel.
  CHECK(names_of(s->layout_for(13)).back() == "TargetLogonId");
  // An unknown count is never mapped by position.
  CHECK(s->layout_for(10) == nullptr);
  CHECK(s->layout_for(16) == nullptr);
}

TEST_CASE("4624 layouts: versions 0, 1 and 2", "[catalog]") {
  const EventSpec* s = find_event_spec("Security", 4624);
  REQUIRE(s);
  auto v0 = names_of(s->layout_for(20));
  auto v1 = names_of(s->layout_for(21));
  auto v2 = names_of(s->layout_for(27));
  REQUIRE(v0.size() == 20);
  CHECK(v0[7] == "TargetLogonId");
  CHECK(v0[8] == "LogonType");
  CHECK(v0[18] == "IpAddress");
  CHECK(v1.back() == "ImpersonationLevel");
  REQUIRE(v2.size() == 27);
  CHECK(v2[25] == "TargetLinkedLogonId");
  CHECK(v2[26] == "ElevatedToken");
  CHECK(s->layout_for(27)->version == 2);
  // Version 3 appends a field: it has no positional layout and is read from XML by name.
  CHECK(s->layout_for(28) == nullptr);
  CHECK(s->field("RemoteCredentialGuard") != nullptr);
}

TEST_CASE("Channel lookup ignores case and Sysmon is its own channel", "[catalog]") {
  CHECK(find_event_spec("security", 4688) == find_event_spec("Security", 4688));
  CHECK(find_event_spec("SECURITY", 4624) != nullptr);
  CHECK(find_event_spec("Microsoft-Windows-Sysmon/Operational", 1) != nullptr);
  CHECK(find_event_spec("System", 4688) == nullptr);
  CHECK(find_event_spec("Security", 1) == nullptr);
}

TEST_CASE("Typed rows: hex and decimal become integers, '-' becomes NULL", "[catalog]") {
  EventRecord r;
  r.spec = find_event_spec("Security", 4688);
  const LayoutSpec* l = r.spec->layout_for(9);
  r.names.assign(l->names.begin(), l->names.end());
  r.values = {"S-1-5-18", "WIN$", "CORP", "0x3e7", "0x0000000000001d34", "C:\\Windows\\System32\\cmd.exe",
              "%%1936", "0x2b0", ""};
  TypedRow row = type_fields(r);
  auto col = [&](std::string_view name) -> const TypedValue& {
    for (size_t i = 0; i < r.spec->fields.size(); ++i)
      if (r.spec->fields[i].name == name) return row.values[i];
    FAIL("no field " << name);
    static TypedValue none;
    return none;
  };
  CHECK(std::get<int64_t>(col("NewProcessId")) == 0x1d34);
  CHECK(std::get<int64_t>(col("ProcessId")) == 0x2b0);
  CHECK(std::get<int64_t>(col("SubjectLogonId")) == 0x3e7);
  CHECK(std::get<std::string>(col("CommandLine")).empty());  // empty text stays empty, not NULL
  CHECK(std::holds_alternative<std::monostate>(col("ParentProcessName")));  // absent in v1
  CHECK(row.bad_numbers == 0);
  r.values[4] = "0xZZ";
  CHECK(type_fields(r).bad_numbers == 1);
}

TEST_CASE("Every catalog field has a column in its schema table", "[catalog][schema]") {
  test::TempDir dir;
  auto db = store::open_case_for_write(dir.file("c.db"));
  REQUIRE(db.ok());
  for (const EventSpec& s : event_catalog()) {
    if (s.table.empty()) continue;
    std::set<std::string> cols;
    auto st = db->prepare(std::string("PRAGMA table_info(") + std::string(s.table) + ")");
    REQUIRE(st.ok());
    while (st->step() == SQLITE_ROW) cols.insert(st->column_text(1));
    INFO("table " << s.table);
    REQUIRE_FALSE(cols.empty());
    for (const auto& f : s.fields) {
      INFO("field " << f.name);
      CHECK(cols.count(std::string(f.column)) == 1);
    }
  }
}
