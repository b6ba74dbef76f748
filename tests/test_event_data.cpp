// Every event's data: the JSON object of its EventData/UserData (ingest/event_data.hpp), kept for
// every record of every channel, and the same for an EVTX record and for its JSON export made
// by another parser (Rust's evtx: ../shared/bin/evtx_dump, and the Sigma regression data).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "ingest/event_data.hpp"
#include "ingest/ingester.hpp"
#include "store/case_db.hpp"
#include "store/query.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace treeline;
using nlohmann::ordered_json;

TEST_CASE("event_data_json: names in order, repeats as arrays, unnamed Data numbered, text escaped", "[data]") {
  using ingest::event_data_json;
  CHECK_FALSE(event_data_json({}, {}).has_value());
  CHECK(*event_data_json({"ImagePath", "ServiceName"}, {"C:\\x.exe", "x"}) ==
        R"({"ImagePath":"C:\\x.exe","ServiceName":"x"})");
  CHECK(*event_data_json({"", "", "Binary"}, {"10.0", "", "00FF"}) == R"({"Data_1":"10.0","Data_2":"","Binary":"00FF"})");
  CHECK(*event_data_json({"LogonGuid", "X", "LogonGuid"}, {"{a}", "1", "{b}"}) == R"({"LogonGuid":["{a}","{b}"],"X":"1"})");
  CHECK(*event_data_json({"S"}, {"a\"b\nc\x01"}) == "{\"S\":\"a\\\"b\\nc\\u0001\"}");
  // An unnamed field numbered like a named one is one key (never the same key twice), and a text
  // without anything to escape is copied whole, long or not.
  CHECK(*event_data_json({"Data_1", ""}, {"a", "b"}) == R"({"Data_1":["a","b"]})");
  std::string long_text(5000, 'x');
  CHECK(*event_data_json({"T"}, {long_text}) == "{\"T\":\"" + long_text + "\"}");
  // Many fields take the hashed path; the result is the same.
  std::vector<std::string> names, values;
  for (int i = 0; i < 40; ++i) {
    names.push_back(i % 2 ? "Odd" : fmt::format("F{}", i));
    values.push_back(std::to_string(i));
  }
  std::vector<std::string_view> views(names.begin(), names.end());
  auto j = ordered_json::parse(*event_data_json(views, values));
  CHECK(j.size() == 21);
  CHECK(j["Odd"].size() == 20);
  CHECK(j["Odd"][19] == "39");
}

namespace {

using Data = std::map<std::tuple<std::string, std::string, int64_t>, std::string>;  // host, channel, record -> data

Data data_of(const std::vector<std::string>& files, const std::string& db_path) {
  auto db = store::open_case_for_write(db_path);
  REQUIRE(db.ok());
  ingest::Ingester ing(*db);
  auto rep = ing.run(files, nullptr);
  REQUIRE(rep.ok());
  auto t = store::run_query(*db, "SELECT host, channel, record_id, data FROM events_v WHERE data IS NOT NULL");
  REQUIRE(t.ok());
  Data out;
  for (const auto& row : t->rows)
    out[{std::get<std::string>(row[0]), std::get<std::string>(row[1]), std::get<int64_t>(row[2])}] =
        std::get<std::string>(row[3]);
  return out;
}

// Where evtx_dump renders a value otherwise than Windows does (and treeline, after Windows):
// FILETIMEs to the microsecond, GUIDs without braces, text without its trailing white space
// ("Advapi  "), a NULL optional substitution as null (Windows leaves its element out).
bool same_value(std::string evtx, const std::string& dump) {
  if (evtx == dump) return true;
  while (!evtx.empty() && (evtx.back() == ' ' || evtx.back() == '\n' || evtx.back() == '\r' || evtx.back() == '\t'))
    evtx.pop_back();
  if (evtx == dump) return true;
  if (evtx.size() == 28 && evtx[10] == 'T' && evtx.back() == 'Z' && dump.size() == 27)
    return evtx.substr(0, 26) == dump.substr(0, 26);
  if (evtx.size() == dump.size() + 2 && evtx.front() == '{' && evtx.back() == '}')
    return evtx.substr(1, dump.size()) == dump;
  return false;
}

bool all_empty(const ordered_json& v) {
  if (v.is_array()) return std::all_of(v.begin(), v.end(), [](const ordered_json& x) { return all_empty(x); });
  return v.is_string() && v.get<std::string>().empty();
}

std::string difference(const std::string& evtx_text, const std::string& dump_text) {
  auto evtx = ordered_json::parse(evtx_text), dump = ordered_json::parse(dump_text);
  auto items = [](const ordered_json& v) {
    return v.is_array() ? std::vector<ordered_json>(v.begin(), v.end()) : std::vector<ordered_json>{v};
  };
  for (auto it = dump.begin(); it != dump.end(); ++it)
    if (!evtx.contains(it.key()) && !all_empty(*it)) return fmt::format("{} only in the export", it.key());
  std::vector<std::string> order;
  for (auto it = evtx.begin(); it != evtx.end(); ++it) {
    if (!dump.contains(it.key())) return fmt::format("{} only in the EVTX", it.key());
    order.push_back(it.key());
    auto a = items(*it), b = items(dump[it.key()]);
    if (a.size() != b.size()) return fmt::format("{}: {} values against {}", it.key(), a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i)
      if (!same_value(a[i].get<std::string>(), b[i].get<std::string>()))
        return fmt::format("{}: '{}' against '{}'", it.key(), a[i].get<std::string>(), b[i].get<std::string>());
  }
  // The same keys in the same order (the export's extra empty ones aside).
  std::vector<std::string> dump_order;
  for (auto it = dump.begin(); it != dump.end(); ++it)
    if (evtx.contains(it.key())) dump_order.push_back(it.key());
  if (order != dump_order) return "keys in another order";
  return {};
}

// The records of `dump` that `evtx` holds too, and how each differs ("" when it does not).
size_t compare(const Data& evtx, const Data& dump, size_t* only_export, std::vector<std::string>* mismatches) {
  size_t compared = 0;
  for (const auto& [key, text] : dump) {
    auto it = evtx.find(key);
    if (it == evtx.end()) {
      ++*only_export;
      continue;
    }
    ++compared;
    std::string diff = difference(it->second, text);
    if (!diff.empty()) mismatches->push_back(fmt::format("{} record {}: {}", std::get<1>(key), std::get<2>(key), diff));
  }
  return compared;
}

}  // namespace

TEST_CASE("Sigma's regression logs: each EVTX record has the data of its JSON export", "[data][real]") {
  fs::path root = test::shared_data() / "sigma" / "regression_data";
  std::vector<std::string> evtx, json;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.path().extension() == ".evtx") evtx.push_back(e.path().string());
    if (e.path().extension() == ".json") json.push_back(e.path().string());
  }
  REQUIRE(evtx.size() >= 50);
  test::TempDir dir;
  Data from_evtx = data_of(evtx, dir.file("evtx.db")), from_json = data_of(json, dir.file("json.db"));
  size_t only_export = 0;
  std::vector<std::string> mismatches;
  size_t compared = compare(from_evtx, from_json, &only_export, &mismatches);
  // One export is not of its EVTX's bytes: evtx_dump reads "Explorer.EXE" from the EVTX too.
  CHECK(mismatches == std::vector<std::string>{
                          "Microsoft-Windows-Sysmon/Operational record 23419552: ParentCommandLine: "
                          "'C:\\Windows\\Explorer.EXE' against 'C:\\Windows\\Explorer.exe'"});
  WARN(fmt::format("{} EVTX and {} JSON files: {} records compared, {} only in an export", evtx.size(), json.size(),
                   compared, only_export));
  CHECK(compared >= 100);
  CHECK(only_export == 0);
}

TEST_CASE("evtx_dump's JSON of real logs gives every record the data the native reader gives it", "[data][real]") {
  fs::path dump = test::shared_data().parent_path() / "bin" / "evtx_dump";
  if (!fs::exists(dump)) {
    WARN("skipped: no " << dump.string());
    return;
  }
  test::TempDir dir;
  // Not CAPI2's logs: evtx_dump writes their repeated nested elements as X, X_1, X_2 in another
  // order than the record's, which its JSON cannot give back.
  // The last three are re-saved logs whose records are plain BinXML, written without templates.
  for (std::string path : {"evtx-rs/security.evtx", "evtx-rs/system.evtx", "evtx-rs/sysmon.evtx",
                           "evtx-rs/2-vss_7-System.evtx", "evtx-rs/Security_short_selected.evtx",
                           "evtx-rs/post-Security.evtx", "evtx-rs/new-user-security.evtx",
                           "evtx-to-mitre/TA0008-Lateral Movement/T1021.006-Windows Remote Management/"
                           "ID4656-WS Management listener enumeration.evtx",
                           "evtx-to-mitre/Antivirus/ID1151-Defender health status.evtx",
                           "evtx-to-mitre/TA0003-Persistence/T1547-Boot or Logon Autostart Execution/"
                           "ID4622-New SSP loaded in LSA (only legitim).evtx"}) {
    fs::path file = test::shared_data() / path;
    std::string name = file.filename().string();
    std::string jsonl = dir.file(name + ".jsonl");
    auto r = test::run_shell(test::shell_quote(dump.string()) + " -o jsonl " + test::shell_quote(file.string()) + " > " +
                             test::shell_quote(jsonl));
    REQUIRE(r.exit_code == 0);
    Data from_evtx = data_of({file.string()}, dir.file(name + ".evtx.db"));
    Data from_dump = data_of({jsonl}, dir.file(name + ".json.db"));
    INFO(name);
    size_t only_export = 0;
    std::vector<std::string> mismatches;
    size_t compared = compare(from_evtx, from_dump, &only_export, &mismatches);
    for (size_t i = 0; i < mismatches.size() && i < 10; ++i) UNSCOPED_INFO(mismatches[i]);
    CHECK(mismatches.empty());
    CHECK(compared > 0);
    CHECK(compared >= from_evtx.size() * 9 / 10);
    WARN(fmt::format("{}: {} records with data, {} compared with evtx_dump's, {} only in its export", name,
                     from_evtx.size(), compared, only_export));
  }
}

TEST_CASE("A 7045's ImagePath is one json_extract away in treeline query", "[data][real]") {
  fs::path file = test::shared_data() / "evtx-rs" / "system.evtx";
  test::TempDir dir;
  REQUIRE(test::run_treeline({"ingest", "-q", dir.file("case.db"), file.string()}).exit_code == 0);
  auto q = test::run_treeline({"query", dir.file("case.db"),
                               "SELECT count(*), count(json_extract(data, '$.ImagePath')) FROM events_v "
                               "WHERE channel = 'System' AND event_id = 7045",
                               "--format", "csv"});
  INFO(q.err);
  REQUIRE(q.exit_code == 0);
  auto line = q.out.substr(q.out.find('\n') + 1);
  auto comma = line.find(',');
  int64_t total = std::stoll(line.substr(0, comma)), with_path = std::stoll(line.substr(comma + 1));
  CHECK(total > 0);
  CHECK(with_path == total);
}
