// The story joins held against the scenarios' truth (links.jsonl): every 4104, 7045, 4648 and
// logon the scenario states a process or session for, and every cross-host logon, including
// the ambiguous one, where nothing may be linked.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "support.hpp"

namespace fs = std::filesystem;
using namespace treeline;

namespace {

fs::path fixture_dir(const std::string& name) { return fs::path(TREELINE_FIXTURES_DIR) / name; }

std::vector<nlohmann::json> lines_of(const fs::path& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::string text(const std::string& db, const std::string& sql) {
  auto r = test::run_shell(fmt::format("sqlite3 -readonly {} {}", test::shell_quote(db), test::shell_quote(sql)));
  std::string out = r.out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

const char* channel_of(const std::string& log) {
  if (log == "PowerShell") return "Microsoft-Windows-PowerShell/Operational";
  if (log == "Sysmon") return "Microsoft-Windows-Sysmon/Operational";
  return log == "System" ? "System" : "Security";
}

struct Score {
  int expected = 0, found = 0, linked = 0, right = 0;
  std::vector<std::string> wrong;
  void check(const std::string& what, const std::string& want, const std::string& got) {
    if (!want.empty()) ++expected;
    if (!got.empty()) ++linked;
    if (!want.empty() && got == want) ++found;
    if (!got.empty() && got == want) ++right;
    if (got != want) wrong.push_back(fmt::format("{}: expected '{}', got '{}'", what, want, got));
  }
};

}  // namespace

TEST_CASE("Every story join and cross-host link agrees with the scenarios' truth", "[fixtures][story]") {
  for (const std::string name : {"intrusion-six", "lateral-two-hosts"}) {
    INFO(name);
    test::TempDir dir;
    const std::string db = dir.file("case.db");
    auto r = test::run_treeline({"ingest", "-q", db, (fixture_dir(name) / "logs").string()});
    REQUIRE(r.exit_code == 0);
    // Scenario process id -> process key, through its 4688's record.
    std::map<std::string, std::string> key_of;
    for (const auto& t : lines_of(fixture_dir(name) / "truth.jsonl"))
      if (t["logged"].get<bool>())
        key_of[t["id"]] = text(db, fmt::format("SELECT p.process_key FROM processes p JOIN events e ON e.event_pk = "
                                               "p.create_event_pk WHERE p.host = '{}' AND e.record_id = {}",
                                               t["host"].get<std::string>(), t["record_id"].get<int64_t>()));
    auto links = lines_of(fixture_dir(name) / "links.jsonl");
    REQUIRE_FALSE(links.empty());
    auto event_pk = [&](const nlohmann::json& l) {
      return text(db, fmt::format("SELECT e.event_pk FROM events e JOIN hosts h ON h.host_id = e.host_id JOIN channels c "
                                  "ON c.channel_id = e.channel_id WHERE h.short_name = '{}' AND c.name = '{}' AND e.record_id = {}",
                                  l["host"].get<std::string>(), channel_of(l["log"]), l["record_id"].get<int64_t>()));
    };
    auto want = [&](const nlohmann::json& l, const char* field) {
      return l.contains(field) && l[field].is_string() ? key_of.at(l[field].get<std::string>()) : std::string();
    };
    // Scenario session id -> session key, through its 4624.
    std::map<std::string, std::string> session_of;
    for (const auto& l : links)
      if (l["kind"] == "logon")
        session_of[l["session"]] = text(db, "SELECT session_key FROM sessions WHERE logon_event_pk = " + event_pk(l));
    Score score;
    int ambiguous = 0;
    for (const auto& l : links) {
      const std::string pk = event_pk(l), kind = l["kind"];
      REQUIRE_FALSE(pk.empty());
      const std::string what = fmt::format("{} {} record {}", kind, l["host"].get<std::string>(), l["record_id"].get<int64_t>());
      if (kind == "script_block") {
        score.check(what, want(l, "process"), text(db, "SELECT coalesce(process_key, '') FROM script_blocks WHERE first_event_pk = " + pk));
      } else if (kind == "service") {
        score.check(what + " installer", want(l, "installer"),
                    text(db, "SELECT coalesce(process_key, '') FROM services_installed WHERE event_pk = " + pk));
        score.check(what + " service process", want(l, "service_process"),
                    text(db, "SELECT coalesce(service_process_key, '') FROM services_installed WHERE event_pk = " + pk));
        if (l.contains("session"))
          score.check(what + " session", session_of.at(l["session"]),
                      text(db, "SELECT coalesce(session_key, '') FROM services_installed WHERE event_pk = " + pk));
      } else if (kind == "task") {
        score.check(what + " creator", want(l, "creator"),
                    text(db, "SELECT coalesce(process_key, '') FROM scheduled_tasks WHERE event_pk = " + pk));
        std::vector<std::string> runs;
        for (const auto& id : l["runs"]) runs.push_back(key_of.at(id.get<std::string>()));
        score.check(what + " runs", fmt::format("{}", fmt::join(runs, ",")),
                    text(db, "SELECT coalesce(group_concat(process_key, ','), '') FROM (SELECT process_key FROM "
                             "scheduled_task_runs WHERE event_pk = " + pk + " ORDER BY process_key)"));
        score.check(what + " session", session_of.at(l["session"]),
                    text(db, "SELECT coalesce(session_key, '') FROM scheduled_tasks WHERE event_pk = " + pk));
        CHECK(text(db, "SELECT command || ' ' || arguments || ' ' || triggers FROM scheduled_tasks WHERE event_pk = " + pk) ==
              "C:\\Users\\bob\\AppData\\Local\\Temp\\svc_upd.exe --check LogonTrigger");
      } else if (kind == "explicit_logon") {
        score.check(what, want(l, "process"), text(db, "SELECT coalesce(process_key, '') FROM explicit_logons WHERE event_pk = " + pk));
      } else if (kind == "logon") {
        const std::string session = session_of.at(l["session"]);
        const std::string where = " FROM logon_sessions WHERE session_key = '" + session + "'";
        score.check(what + " origin", l["origin"].is_string() ? session_of.at(l["origin"]) : "",
                    text(db, "SELECT coalesce(origin_session_key, '')" + where));
        score.check(what + " source process", want(l, "source_process"), text(db, "SELECT coalesce(source_process_key, '')" + where));
        CHECK(text(db, "SELECT coalesce(source_host, '')" + where) == l.value("source_host", ""));
        if (l.contains("source_process") && l["source_process"].is_null()) {
          ++ambiguous;
          // Both fitting processes are named as candidates, neither linked.
          CHECK(text(db, "SELECT json_array_length(source_candidates)" + where) == "2");
        }
      }
    }
    for (const auto& w : score.wrong) WARN(name << ": " << w);
    WARN(fmt::format("{}: {} joins stated; precision {}/{}, recall {}/{}; {} ambiguous", name, score.expected + ambiguous,
                     score.right, score.linked, score.found, score.expected, ambiguous));
    CHECK(score.wrong.empty());
    CHECK(score.right == score.linked);
    CHECK(score.found == score.expected);
    if (name == "lateral-two-hosts") {
      CHECK(ambiguous == 1);
      // srv02's clock runs 7 s ahead; the estimate carries the network's latency on top.
      const double offset = std::stod(text(db, "SELECT offset_seconds FROM host_clock_offsets WHERE source_host = 'ws01' AND target_host = 'srv02'"));
      CHECK(offset >= 7.0);
      CHECK(offset <= 8.0);
    }
  }
}

namespace {

// The story as CSV, its source paths relative to the fixture's folder (so the golden file holds
// no build path).
std::string story_csv(const std::string& db, const std::string& name, const std::vector<std::string>& anchor) {
  std::vector<std::string> args = {"story", db, "--format", "csv"};
  args.insert(args.end(), anchor.begin(), anchor.end());
  auto r = test::run_treeline(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::string out = r.out;
  const std::string prefix = (fixture_dir(name) / "logs").string() + "/";
  for (size_t at = out.find(prefix); at != std::string::npos; at = out.find(prefix, at)) out.replace(at, prefix.size(), "logs/");
  return out;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void check_golden(const std::string& got, const std::string& golden_name) {
  const fs::path golden = fs::path(TREELINE_SOURCE_DIR) / "tests" / "golden" / golden_name;
  INFO("golden " << golden << "; to accept a change, write the output there");
  CHECK(got == slurp(golden));
}

}  // namespace

TEST_CASE("story --finding on intrusion-six tells the six records in order, each with its record", "[fixtures][story][golden]") {
  test::TempDir dir;
  const std::string db = dir.file("case.db");
  REQUIRE(test::run_treeline({"ingest", "-q", db, (fixture_dir("intrusion-six") / "logs").string()}).exit_code == 0);
  REQUIRE(test::run_treeline({"hunt", db, "--format", "csv"}).exit_code == 0);
  const std::string id = text(db, "SELECT finding_id FROM findings WHERE rule_id = 'encoded_powershell'");
  REQUIRE_FALSE(id.empty());
  const std::string csv = story_csv(db, "intrusion-six", {"--finding", id});
  // The guide's six, in this order: logon, runas /netonly, powershell -enc, 4104, second stage, 7045.
  const std::vector<std::string> six = {"4624 type 3 (network) CORP\\bob from 198.51.100.23",
                                        "4624 type 9 (new_credentials) CORP\\bob",
                                        "4688 powershell.exe (pid 5120) by WmiPrvSE.exe",
                                        "4104 script block by pid 5120: IEX (New-Object Net.WebClient)",
                                        "4688 svc_upd.exe (pid 308) by powershell.exe (pid 5120)",
                                        "7045 service UpdSvc"};
  size_t at = 0;
  for (const auto& s : six) {
    auto found = csv.find(s, at);
    INFO(s << "\n" << csv);
    REQUIRE(found != std::string::npos);
    // Its row names its record: the log file and the record id.
    auto line_end = csv.find('\n', found);
    CHECK(csv.substr(found, line_end - found).find("logs/ws-fin07-") != std::string::npos);
    at = found;
  }
  // The notepad that took PID 5120 later and the earlier PowerShell with it are not in the story.
  CHECK(csv.find("notepad.exe") == std::string::npos);
  CHECK(csv.find("inventory") == std::string::npos);
  check_golden(csv, "story_intrusion-six.csv");
}

TEST_CASE("story follows a process to the logons it opened on another host, and back", "[fixtures][story][golden]") {
  test::TempDir dir;
  const std::string db = dir.file("case.db");
  REQUIRE(test::run_treeline({"ingest", "-q", db, (fixture_dir("lateral-two-hosts") / "logs").string()}).exit_code == 0);
  const std::string psexec = text(db, "SELECT process_key FROM processes WHERE image LIKE '%PsExec.exe'");
  const std::string csv = story_csv(db, "lateral-two-hosts", {"--process", psexec});
  CHECK(csv.find("remote logon,\"4624 type 3 (network) CORP\\alice from 10.0.0.21 (WS01), opened from ws01 by PsExec.exe") !=
        std::string::npos);
  // The net use that ran in the same interactive session is not PsExec's story.
  CHECK(csv.find("4648") == std::string::npos);
  const std::string session = text(db, "SELECT session_key FROM logon_sessions WHERE source_process_key = '" + psexec + "'");
  const std::string back = story_csv(db, "lateral-two-hosts", {"--session", session});
  CHECK(back.find("remote source,4688 PsExec.exe") != std::string::npos);
  check_golden(csv + back, "story_lateral-two-hosts.csv");
  // Usage errors name what is missing.
  auto none = test::run_treeline({"story", db, "--finding", "999"});
  CHECK(none.exit_code == 2);
  CHECK(none.err.find("no finding 999") != std::string::npos);
  CHECK(test::run_treeline({"story", db}).exit_code == 2);
}

TEST_CASE("tree --follow-logons draws the logons a process opened on another host under it, and hunt ancestry crosses too",
          "[fixtures][story][tree]") {
  test::TempDir dir;
  const std::string db = dir.file("case.db");
  REQUIRE(test::run_treeline({"ingest", "-q", db, (fixture_dir("lateral-two-hosts") / "logs").string()}).exit_code == 0);
  auto plain = test::run_treeline({"tree", db, "--host", "ws01", "--wide"});
  REQUIRE(plain.exit_code == 0);
  CHECK(plain.out.find("remote logon") == std::string::npos);
  CHECK(plain.out.find("wsmprovhost") == std::string::npos);
  auto r = test::run_treeline({"tree", db, "--host", "ws01", "--follow-logons", "--wide"});
  REQUIRE(r.exit_code == 0);
  INFO(r.out);
  // Four logons are tied to their source; the ambiguous one is under neither cmd.exe.
  size_t logons = 0;
  for (size_t at = r.out.find("⇢ remote logon on srv02"); at != std::string::npos; at = r.out.find("⇢ remote logon on srv02", at + 1))
    ++logons;
  CHECK(logons == 4);
  // WinRM: the Kerberos logon with no address, its wsmprovhost.exe under the PowerShell that made it.
  const auto ps = r.out.find("Invoke-Command -ComputerName srv02");
  const auto wsm = r.out.find("wsmprovhost.exe -Embedding");
  REQUIRE(ps != std::string::npos);
  REQUIRE(wsm != std::string::npos);
  CHECK(ps < wsm);
  CHECK(r.out.substr(ps, wsm - ps).find("[network_connection") != std::string::npos);
  auto csv = test::run_treeline({"tree", db, "--host", "ws01", "--follow-logons", "--format", "csv"});
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.out.find("via_remote_logon") != std::string::npos);
  CHECK(csv.out.find("srv02:") != std::string::npos);
  // A finding on srv02 names the process on ws01 that opened its logon.
  auto hunt = test::run_treeline({"hunt", db, "--format", "csv"});
  REQUIRE(hunt.exit_code == 0);
  CHECK(hunt.out.find("ws01:WMIC.exe(272) ⇒ WmiPrvSE.exe") != std::string::npos);
}

TEST_CASE("tree --keys, --pid without --at lists who held the PID, --ancestors needs a process", "[fixtures][tree]") {
  test::TempDir dir;
  const std::string db = dir.file("case.db");
  REQUIRE(test::run_treeline({"ingest", "-q", db, (fixture_dir("intrusion-six") / "logs").string()}).exit_code == 0);
  // PID 5120: the inventory PowerShell, the -enc one, then notepad.
  auto c = test::run_treeline({"tree", db, "--pid", "5120", "--format", "csv"});
  REQUIRE(c.exit_code == 0);
  CHECK(std::count(c.out.begin(), c.out.end(), '\n') == 4);
  CHECK(c.out.find("inventory.ps1") < c.out.find("-enc"));
  CHECK(c.out.find("-enc") < c.out.find("notepad.exe"));
  CHECK(c.err.find("3 process(es) held PID 5120") != std::string::npos);
  // A key from --keys is one --process takes.
  auto k = test::run_treeline({"tree", db, "--keys", "--wide"});
  REQUIRE(k.exit_code == 0);
  const auto at = k.out.find("notepad.exe");
  REQUIRE(at != std::string::npos);
  const auto open = k.out.find("[ws-fin07:5120:", at), close = k.out.find(']', open);
  REQUIRE(open != std::string::npos);
  const std::string key = k.out.substr(open + 1, close - open - 1);
  auto one = test::run_treeline({"tree", db, "--process", key, "--descendants"});
  REQUIRE(one.exit_code == 0);
  CHECK(one.out.find("notepad.exe") != std::string::npos);
  CHECK(one.out.find("powershell.exe") == std::string::npos);
  auto bad = test::run_treeline({"tree", db, "--ancestors"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("need a process") != std::string::npos);
}
