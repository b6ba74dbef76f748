// The ECS export and KQL on the HAW-004 fixture: the card's own hunts return what the scenario's
// truth says, every document's fields have their ECS types (ECS's generated field list, read in
// place from ../shared/data/ecs/fields.csv), and the export reads back as the same events.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"

namespace fs = std::filesystem;
using namespace treeline;

namespace {

fs::path fixture_logs(const std::string& name) { return fs::path(TREELINE_FIXTURES_DIR) / name / "logs"; }

std::vector<nlohmann::json> jsonl(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The record ids of the Security 4688s of the processes (on hanguel-win01 and -dc01) the truth
// picks, as "host:record".
std::set<std::string> truth_records(const std::function<bool(const nlohmann::json&)>& pick) {
  std::set<std::string> out;
  for (const auto& t : jsonl(read_all(fs::path(TREELINE_FIXTURES_DIR) / "haw-004" / "truth.jsonl")))
    if (t["logged"].get<bool>() && pick(t)) out.insert(fmt::format("{}:{}", t["host"].get<std::string>(), t["record_id"].get<int64_t>()));
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}


}  // namespace

TEST_CASE("HAW-004: the card's four KQL hunts and its pivot return exactly what the truth says", "[fixtures][ecs][kql][golden]") {
  test::TempDir dir;
  const std::string db = dir.file("case.db");
  REQUIRE(test::run_treeline({"ingest", "-q", db, fixture_logs("haw-004").string()}).exit_code == 0);
  REQUIRE(test::run_treeline({"hunt", db, "--format", "csv"}).exit_code == 0);
  auto kql = [&](const std::string& q) {
    auto r = test::run_treeline({"query", db, "--kql", q, "--format", "json"});
    INFO(q << "\n" << r.err);
    REQUIRE(r.exit_code == 0);
    std::set<std::string> got;
    for (const auto& row : nlohmann::json::parse(r.out)) {
      const std::string host = lower(row["host.name"].get<std::string>());
      got.insert(fmt::format("{}:{}", host.substr(0, host.find('.')), row["winlog.record_id"].is_null() ? "" : row["winlog.record_id"].get<std::string>()));
    }
    return got;
  };
  auto base = [](const nlohmann::json& t) {
    std::string image = t["image"].get<std::string>();
    return image.substr(image.rfind('\\') + 1);
  };
  auto has = [](const std::string& s, std::initializer_list<const char*> parts) {
    for (const char* p : parts)
      if (s.find(p) != std::string::npos) return true;
    return false;
  };
  CHECK(kql(R"(winlog.channel:"Security" and event.code:4688 and winlog.event_data.NewProcessName:(*\\rundll32.exe or *\\rdrleakdiag.exe or *\\hgl_loader.exe))") ==
        truth_records([&](const nlohmann::json& t) {
          const std::string b = base(t);
          return b == "rundll32.exe" || b == "rdrleakdiag.exe" || b == "hgl_loader.exe";
        }));
  // dc01 writes no command lines: its 4688s cannot match a CommandLine hunt.
  CHECK(kql(R"(winlog.channel:"Security" and event.code:4688 and winlog.event_data.CommandLine:(*comsvcs.dll* or *MiniDump* or *rdrleakdiag* or *hgl_loader* or *hgl_payload*))") ==
        truth_records([&](const nlohmann::json& t) {
          return t["host"] != "hanguel-dc01" && has(t["command_line"].get<std::string>(), {"comsvcs.dll", "MiniDump", "rdrleakdiag", "hgl_loader", "hgl_payload"});
        }));
  // message holds every field: the process's own image (lsass.exe starting) matches too.
  const auto by_message = kql(R"(winlog.channel:"Security" and event.code:4688 and message:(*lsass* or *MiniDump* or *hgl_loader* or *rdrleakdiag*))");
  CHECK(by_message == truth_records([&](const nlohmann::json& t) {
          const std::string text = lower(t["image"].get<std::string>() + " " +
                                         (t["host"] == "hanguel-dc01" ? std::string() : t["command_line"].get<std::string>()));
          return has(text, {"lsass", "minidump", "hgl_loader", "rdrleakdiag"});
        }));
  CHECK(kql(R"(winlog.channel:"Security" and event.code:4688 and winlog.event_data.NewProcessName:*\\cmd.exe and winlog.event_data.CommandLine:*hgl_run.cmd*)") ==
        truth_records([&](const nlohmann::json& t) { return base(t) == "cmd.exe" && has(t["command_line"].get<std::string>(), {"hgl_run.cmd"}); }));
  // The normalized pivot runs over the findings: one per dump command and one for the loader.
  auto pivot = test::run_treeline({"query", db, "--format", "json", "--kql",
                                   R"(log.id:"HAW-004" and event.action:("comsvcs_lsass_dump_attempt" or "rdrleakdiag_lsass_dump_attempt" or "loader_execution_observed"))"});
  REQUIRE(pivot.exit_code == 0);
  std::multiset<std::string> actions;
  std::set<std::string> images;
  for (const auto& row : nlohmann::json::parse(pivot.out)) {
    actions.insert(row["event.action"].get<std::string>());
    CHECK(row["treeline.document"] == "finding");
    images.insert(row["process.name"].get<std::string>());
  }
  CHECK(actions == std::multiset<std::string>{"comsvcs_lsass_dump_attempt", "loader_execution_observed", "rdrleakdiag_lsass_dump_attempt"});
  CHECK(images == std::set<std::string>{"rundll32.exe", "rdrleakdiag.exe", "hgl_loader.exe"});
  // --explain shows the SQL and runs nothing.
  auto explain = test::run_treeline({"query", db, "--kql", "event.code:4688 and message:lsass", "--explain"});
  CHECK(explain.out.find("FROM ecs WHERE") != std::string::npos);
  CHECK(explain.out.find("\"event.code\" = '4688'") != std::string::npos);
  auto bad = test::run_treeline({"query", db, "--kql", "event.code:(4688"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("column 17") != std::string::npos);
}

TEST_CASE("Every exported ECS document has its fields' ECS types, and Winlogbeat's for winlog.*", "[fixtures][ecs]") {
  const fs::path fields_csv = test::shared_data() / "ecs" / "fields.csv";
  test::TempDir dir;
  const std::string db = dir.file("case.db");
  REQUIRE(test::run_treeline({"ingest", "-q", db, fixture_logs("haw-004").string()}).exit_code == 0);
  REQUIRE(test::run_treeline({"hunt", db}).exit_code == 0);
  auto out = test::run_treeline({"export", db});
  REQUIRE(out.exit_code == 0);
  // ECS's field list: Field (4th column) -> Type (5th). A description may hold commas in quotes;
  // the first five columns never do.
  std::map<std::string, std::string> types;
  {
    std::ifstream in(fields_csv);
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      std::vector<std::string> cols;
      size_t at = 0;
      for (int i = 0; i < 5; ++i) {
        size_t comma = line.find(',', at);
        cols.push_back(line.substr(at, comma - at));
        at = comma + 1;
      }
      types[cols[3]] = cols[4];
    }
  }
  REQUIRE(types.at("process.pid") == "long");
  // Winlogbeat's documented winlog.* fields (winlogbeat/docs/fields.asciidoc).
  const std::map<std::string, std::string> winlog = {
      {"winlog.channel", "keyword"},       {"winlog.record_id", "keyword"}, {"winlog.computer_name", "keyword"},
      {"winlog.event_id", "keyword"},      {"winlog.provider_name", "keyword"}, {"winlog.version", "long"},
      {"winlog.process.pid", "long"},      {"winlog.logon.id", "keyword"}};
  auto check = [&](const std::string& path, const nlohmann::json& v, const std::string& type) {
    INFO(path << " = " << v.dump() << " as " << type);
    if (type == "keyword" || type == "wildcard" || type == "match_only_text" || type == "text" || type == "constant_keyword") {
      CHECK((v.is_string() || (v.is_array() && std::all_of(v.begin(), v.end(), [](const auto& x) { return x.is_string(); }))));
    } else if (type == "long" || type == "integer") {
      CHECK(v.is_number_integer());
    } else if (type == "date") {
      REQUIRE(v.is_string());
      CHECK(v.get<std::string>().size() >= 20);
      CHECK(v.get<std::string>().back() == 'Z');
    } else {
      FAIL("a type this test does not know: " << type);
    }
  };
  size_t documents = 0, checked = 0;
  std::set<std::string> unknown;
  for (const auto& doc : jsonl(out.out)) {
    ++documents;
    // Every leaf, by its dotted path; winlog.event_data holds the event's own fields (keywords).
    std::function<void(const nlohmann::json&, const std::string&)> walk = [&](const nlohmann::json& j, const std::string& path) {
      if (j.is_object() && path != "winlog.event_data") {
        for (auto& [k, v] : j.items()) walk(v, path.empty() ? k : path + "." + k);
        return;
      }
      if (path == "winlog.event_data") {
        for (auto& [k, v] : j.items()) CHECK((v.is_string() || v.is_array()));
        return;
      }
      ++checked;
      if (auto it = types.find(path); it != types.end()) check(path, j, it->second);
      else if (auto w = winlog.find(path); w != winlog.end()) check(path, j, w->second);
      else if (path.rfind("treeline.", 0) == 0) return;  // treeline's own namespace
      else unknown.insert(path);
    };
    walk(doc, "");
  }
  CHECK(documents > 0);
  CHECK(checked > documents);
  // log.id is the HAW-004 card's own field, not ECS's; everything else is ECS or winlog.
  CHECK(unknown == std::set<std::string>{"log.id"});
}

TEST_CASE("The ECS export, with _bulk lines or without, reads back as the same events", "[fixtures][ecs][custody]") {
  test::TempDir dir;
  const std::string db = dir.file("case.db");
  REQUIRE(test::run_treeline({"ingest", "-q", db, fixture_logs("haw-004").string(), fixture_logs("lateral-two-hosts").string()}).exit_code == 0);
  REQUIRE(test::run_treeline({"hunt", db}).exit_code == 0);
  for (const bool bulk : {false, true}) {
    const std::string file = dir.file(bulk ? "bulk.ndjson" : "case.ndjson"), back = dir.file(bulk ? "bulk.db" : "back.db");
    std::vector<std::string> args = {"export", db, "-o", file};
    if (bulk) args.insert(args.end(), {"--bulk", "treeline-haw-004"});
    auto e = test::run_treeline(args);
    REQUIRE(e.exit_code == 0);
    auto r = test::run_treeline({"ingest", back, file});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);  // processes, findings and action lines are no skipped records
    CHECK(test::events_digest(back) == test::events_digest(db));
    if (bulk) {
      auto lines = jsonl(read_all(file));
      REQUIRE(lines.size() % 2 == 0);
      CHECK(lines[0] == nlohmann::json{{"index", {{"_index", "treeline-haw-004"}}}});
    }
  }
  // Timesketch: message, datetime and timestamp_desc on every line; --host narrows.
  auto ts = test::run_treeline({"export", db, "--format", "timesketch", "--host", "srv02"});
  REQUIRE(ts.exit_code == 0);
  auto lines = jsonl(ts.out);
  REQUIRE_FALSE(lines.empty());
  for (const auto& l : lines) {
    CHECK(l.contains("message"));
    CHECK(l.contains("datetime"));
    CHECK(l.contains("timestamp_desc"));
    CHECK(l["host.name"] == "SRV02.corp.example.com");
  }
  CHECK(test::run_treeline({"export", db, "--format", "timesketch", "--bulk", "x"}).exit_code == 2);
}

TEST_CASE("hunt, tree and timeline take --host, --since and --until alike", "[fixtures][cli]") {
  test::TempDir dir;
  const std::string db = dir.file("case.db");
  REQUIRE(test::run_treeline({"ingest", "-q", db, fixture_logs("haw-004").string()}).exit_code == 0);
  auto all = test::run_treeline({"hunt", db, "--format", "json"});
  REQUIRE(all.exit_code == 0);
  const auto every = nlohmann::json::parse(all.out);
  auto some = test::run_treeline({"hunt", db, "--format", "json", "--host", "hanguel-dc01.hanguel.local",
                                  "--since", "2024-05-14T09:00:00Z", "--until", "2024-05-14T23:00:00Z"});
  REQUIRE(some.exit_code == 0);
  size_t expected = 0;
  for (const auto& f : every)
    if (f["host"] == "hanguel-dc01" && f["time_utc"].is_string() && f["time_utc"].get<std::string>() <= "2024-05-14T23") ++expected;
  const auto shown = nlohmann::json::parse(some.out);
  CHECK(shown.size() == expected);
  CHECK(shown.size() < every.size());
  for (const auto& f : shown) CHECK(f["host"] == "hanguel-dc01");
  // timeline also takes --event-id and --channel: the 4688s of one host, no more, no fewer.
  auto t = test::run_treeline({"timeline", db, "--event-id", "4688", "--channel", "security", "--host", "hanguel-win01",
                               "--format", "json"});
  REQUIRE(t.exit_code == 0);
  const auto tl = nlohmann::json::parse(t.out);
  CHECK(static_cast<int64_t>(tl.size()) ==
        test::scalar(db, "SELECT count(*) FROM sec_process_create x JOIN events e USING (event_pk) JOIN hosts h USING (host_id) "
                         "WHERE h.short_name = 'hanguel-win01'"));
  for (const auto& row : tl) CHECK(row["event_id"] == 4688);
  for (const auto& verb : {"hunt", "tree", "timeline"}) {
    INFO(verb);
    CHECK(test::run_treeline({verb, db, "--since", "yesterday"}).exit_code == 2);
    CHECK(test::run_treeline({verb, db, "--host", "hanguel-win01", "--since", "2024-05-14T09:06:00Z", "--until",
                              "2024-05-14T09:07:00Z", "--format", "csv"}).exit_code == 0);
  }
}

TEST_CASE("search finds a text in event data and command lines, by field, by regex, by event id", "[fixtures][search]") {
  test::TempDir dir;
  const std::string db = dir.file("case.db");
  REQUIRE(test::run_treeline({"ingest", "-q", db, fixture_logs("haw-004").string()}).exit_code == 0);
  auto rows = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"search", db});
    args.insert(args.end(), {"--format", "json"});
    auto r = test::run_treeline(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(r.out);
  };
  // The comsvcs MiniDump: its 4688, its Sysmon 1 and its process, case-insensitively.
  auto any = rows({"COMSVCS.DLL"});
  std::multiset<std::string> kinds;
  for (const auto& r : any) kinds.insert(r["kind"].get<std::string>() + (r["event_id"].is_null() ? "" : std::to_string(r["event_id"].get<int>())));
  CHECK(kinds == std::multiset<std::string>{"event1", "event4688", "process"});
  for (const auto& r : any)
    if (r["kind"] == "event") CHECK(r["matched"].get<std::string>().rfind("CommandLine=", 0) == 0);
  CHECK(rows({"comsvcs", "--event-id", "4688"}).size() == 1);
  CHECK(rows({"hanguel", "--field", "NewProcessName"}).empty());
  CHECK(rows({"hgl_loader", "--field", "NewProcessName"}).size() == 1);
  // Regex: RE2, case-sensitive unless (?i); % and _ in a plain text are plain.
  CHECK(rows({"rdrleakdiag\\.exe /p \\d+", "--regex", "--event-id", "4688"}).size() == 1);
  CHECK(rows({"RDRLEAKDIAG", "--regex"}).empty());
  CHECK(rows({"100%_sure"}).empty());
  CHECK(test::run_treeline({"search", db, "(", "--regex"}).exit_code == 2);
}
