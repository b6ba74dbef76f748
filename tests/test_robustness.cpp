// Never crash, never hang, never mislead: hostile command lines, absurd PIDs, a chain 100,000
// processes deep, a stale graph, an interrupted ingest, and folders holding files that are no
// event logs. Everything goes through the binary, as an analyst would run it.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>
#include <algorithm>

#include "support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using treeline::test::run_shell;
using treeline::test::scalar;
using treeline::test::run_treeline;
using treeline::test::TempDir;

namespace {


// Security 4688 v2 in evtx_dump's JSON shape (Event.System / Event.EventData).
struct Writer {
  std::ofstream out;
  int64_t record = 0;
  std::string computer = "hostile01.corp.example";
  explicit Writer(const std::string& path) : out(path, std::ios::binary) {}
  void process(int64_t second_tenths, const std::string& pid, const std::string& ppid, const std::string& image,
               const std::string& parent, const std::string& cmd) {
    event(++record, second_tenths, pid, ppid, image, parent, cmd);
  }
  void event(int64_t record_id, int64_t second_tenths, const std::string& pid, const std::string& ppid,
             const std::string& image, const std::string& parent, const std::string& cmd) {
    char time[64];
    std::snprintf(time, sizeof time, "2024-06-01T%02lld:%02lld:%02lld.%07lldZ", (long long)(second_tenths / 36000 % 24),
                  (long long)(second_tenths / 600 % 60), (long long)(second_tenths / 10 % 60),
                  (long long)(second_tenths % 10) * 1000000);
    json j;
    j["Event"]["System"] = {{"Provider", {{"#attributes", {{"Name", "Microsoft-Windows-Security-Auditing"}}}}},
                            {"EventID", 4688},
                            {"Version", 2},
                            {"EventRecordID", record_id},
                            {"Channel", "Security"},
                            {"Computer", computer},
                            {"TimeCreated", {{"#attributes", {{"SystemTime", time}}}}}};
    j["Event"]["EventData"] = {{"SubjectUserSid", "S-1-5-21-1-1001"}, {"SubjectUserName", "alice"},
                               {"SubjectDomainName", "CORP"},         {"SubjectLogonId", "0x3e7"},
                               {"NewProcessId", pid},                 {"NewProcessName", image},
                               {"TokenElevationType", "%%1936"},      {"ProcessId", ppid},
                               {"CommandLine", cmd},                  {"TargetUserSid", "S-1-0-0"},
                               {"TargetUserName", "-"},               {"TargetDomainName", "-"},
                               {"TargetLogonId", "0x0"},              {"ParentProcessName", parent},
                               {"MandatoryLabel", "S-1-16-12288"}};
    out << j.dump() << "\n";
  }
};

std::string hex(int64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", (long long)v);
  return b;
}

// 32,767 characters: the longest command line Windows takes.
std::string pad_to(std::string s, char fill) {
  s.resize(32767, fill);
  return s;
}

}  // namespace

TEST_CASE("Hostile command lines, 20-digit PIDs and a 100,000-deep chain: every verb finishes", "[robustness]") {
  TempDir dir;
  const std::string log = dir.file("hostile.json"), db = dir.file("case.db");
  const std::string cmd = "C:\\Windows\\System32\\cmd.exe", rundll = "C:\\Windows\\System32\\rundll32.exe",
                    ps = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe";
  {
    Writer w(log);
    // The deep chain: each cmd.exe starts the next one.
    constexpr int kDepth = 100000;
    w.process(10, hex(1000), hex(4), cmd, "C:\\Windows\\explorer.exe", "cmd.exe");
    for (int i = 1; i < kDepth; ++i) w.process(10 + i, hex(1000 + 4 * i), hex(1000 + 4 * (i - 1)), cmd, cmd, "cmd.exe /c next");
    int64_t t = 10 + kDepth, bottom = 1000 + 4 * (kDepth - 1);
    // Every shape the rules test, at Windows' limit.
    std::string b64(32767 - 16, 'A');
    w.process(++t, hex(9000), hex(bottom), ps, cmd, "powershell -enc " + b64);
    w.process(++t, hex(9004), hex(bottom), rundll, cmd, pad_to("rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump ", ' '));
    w.process(++t, hex(9008), hex(bottom), rundll, cmd, pad_to("rundll32 comsvcs.dll #24 ", ','));
    w.process(++t, hex(9012), hex(bottom), rundll, cmd, "rundll32.exe comsvcs.dll MiniDump 99999999999999999999 C:\\x.dmp full");
    w.process(++t, hex(9016), hex(bottom), cmd, cmd, pad_to("cmd.exe /c hgl_run.cmd", ' '));
    w.process(++t, hex(9020), hex(bottom), ps, cmd, pad_to("powershell ", '=').substr(0, 32764) + "iex");
    std::string spaces = "powershell";
    for (int i = 0; spaces.size() < 32760; ++i) spaces += i % 2 ? " -e" : "     ";
    w.process(++t, hex(9024), hex(bottom), ps, cmd, spaces);
  }
  auto ingest = run_treeline({"ingest", "-q", db, log});
  INFO(ingest.err);
  REQUIRE(ingest.exit_code == 0);
  CHECK(scalar(db, "SELECT count(*) FROM processes WHERE source <> 'placeholder'") == 100007);
  CHECK(scalar(db, "SELECT max(length(command_line)) FROM processes") == 32767);

  auto hunt = run_treeline({"hunt", db, "--format", "json"});
  INFO(hunt.err.substr(0, 2000));
  REQUIRE(hunt.exit_code == 0);
  json findings = json::parse(hunt.out);
  REQUIRE(findings.is_array());
  bool absurd_pid = false, encoded = false;
  for (const auto& f : findings) {
    CHECK(f["chain"].is_array());  // nested JSON, not a string holding JSON
    CHECK(f["matched"].is_object());
    if (f["kind"] == "coverage") continue;
    std::string detail = f["detail"].is_string() ? f["detail"].get<std::string>() : "";
    if (detail.find("'99999999999999999999' is not a PID") != std::string::npos) absurd_pid = true;
    if (f["action"] == "encoded_powershell") encoded = true;
  }
  CHECK(absurd_pid);
  CHECK(encoded);

  // Finding ids follow the order shown: severity first.
  int last_rank = 99, last_id = 0;
  static const std::map<std::string, int> kRank = {{"informational", 0}, {"low", 1}, {"medium", 2}, {"high", 3}, {"critical", 4}};
  for (const auto& f : findings) {
    int rank = kRank.at(f["severity"].get<std::string>());
    CHECK(rank <= last_rank);
    CHECK(f["finding_id"].get<int>() == last_id + 1);
    last_rank = rank;
    last_id = f["finding_id"].get<int>();
  }

  for (const char* format : {"table", "csv", "json"}) {
    auto tree = run_treeline({"tree", db, "--format", format});
    INFO(format << ": " << tree.err);
    CHECK(tree.exit_code == 0);
    CHECK(tree.out.size() < size_t{200} << 20);  // linear in the processes, not in depth squared
    if (std::string(format) == "json") {
      json forest = json::parse(tree.out);
      // Down the chain, iteratively.
      const json* node = &forest[0];
      size_t depth = 0;
      while (!(*node)["children"].empty()) {
        node = &(*node)["children"][0];
        ++depth;
      }
      CHECK(depth >= 99999);
    }
    if (std::string(format) == "table") CHECK_THAT(tree.out, Catch::Contains("[depth 99999]"));
  }
  auto timeline = run_treeline({"timeline", db, "-o", dir.file("timeline.csv")});
  CHECK(timeline.exit_code == 0);
  CHECK(scalar(db, "SELECT count(*) FROM events") == 100007);
  std::ifstream csv(dir.file("timeline.csv"), std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(csv)), {});
  CHECK(std::count(text.begin(), text.end(), '\n') >= 100008);
  auto graph = run_treeline({"graph", db, "--process", "hostile01:9012:" + std::to_string(0), "--format", "dot"});
  (void)graph;  // a key that does not exist: a usage error, never a crash
  CHECK(graph.exit_code == 2);
  auto key = run_treeline({"query", db, "SELECT process_key FROM processes WHERE pid = 9004", "--format", "csv"});
  std::string k = key.out.substr(key.out.find('\n') + 1);
  k = k.substr(0, k.find_first_of("\r\n"));
  auto dot = run_treeline({"graph", db, "--process", k, "--format", "dot"});
  INFO(dot.err);
  CHECK(dot.exit_code == 0);
  CHECK_THAT(dot.out, Catch::Contains("digraph"));
}

TEST_CASE("A stale graph is refused by the read verbs and rebuilt by hunt", "[robustness][stale]") {
  TempDir dir;
  const std::string log = dir.file("a.json"), db = dir.file("case.db");
  {
    Writer w(log);
    w.process(10, "0x100", "0x4", "C:\\Windows\\System32\\cmd.exe", "C:\\Windows\\explorer.exe", "cmd.exe");
    w.process(20, "0x104", "0x100", "C:\\Windows\\System32\\rundll32.exe", "C:\\Windows\\System32\\cmd.exe",
              "rundll32.exe comsvcs.dll, MiniDump 624 C:\\t\\l.dmp full");
  }
  REQUIRE(run_treeline({"ingest", "-q", "--no-graph", db, log}).exit_code == 0);
  for (std::vector<std::string> verb : {std::vector<std::string>{"tree", db}, {"sessions", db}, {"timeline", db},
                                        {"graph", db, "--process", "x"}}) {
    auto r = run_treeline(verb);
    INFO(verb[0] << ": " << r.err);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("out of date") && Catch::Contains("--rebuild-graph"));
  }
  auto hunt = run_treeline({"hunt", db});
  CHECK(hunt.exit_code == 0);
  CHECK_THAT(hunt.err, Catch::Contains("rebuilt first") && Catch::Contains("hunted 3 processes"));
  CHECK(scalar(db, "SELECT count(*) FROM findings WHERE rule_id = 'comsvcs_lsass_dump_attempt'") == 1);
  CHECK(run_treeline({"tree", db}).exit_code == 0);
}

TEST_CASE("SIGINT during an ingest rolls back the current file, keeps the committed ones, exits 130", "[robustness][signal]") {
  TempDir dir;
  const std::string db = dir.file("case.db");
  {
    Writer small(dir.file("1-small.json"));
    small.process(10, "0x100", "0x4", "C:\\Windows\\System32\\cmd.exe", "C:\\Windows\\explorer.exe", "cmd.exe");
    Writer big(dir.file("2-big.json"));
    for (int i = 0; i < 150000; ++i)
      big.process(100 + i, hex(0x1000 + 4 * (i % 5000)), "0x100", "C:\\Windows\\System32\\cmd.exe",
                  "C:\\Windows\\System32\\cmd.exe", "cmd.exe /c x");
  }
  std::string cmd = "exec " + treeline::test::shell_quote(TREELINE_BINARY) + " ingest -q " + treeline::test::shell_quote(db) +
                    " " + treeline::test::shell_quote(dir.file("1-small.json")) + " " +
                    treeline::test::shell_quote(dir.file("2-big.json")) + " 2>" + treeline::test::shell_quote(dir.file("err"));
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait until the big file is being read (the small one is committed by then), then interrupt.
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (fs::exists(db) && scalar(db, "SELECT count(*) FROM sources") >= 1) break;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(child, SIGINT);
  int status = 0;
  waitpid(child, &status, 0);
  std::ifstream err_in(dir.file("err"));
  std::string err((std::istreambuf_iterator<char>(err_in)), {});
  INFO(err);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK_THAT(err, Catch::Contains("interrupted") && Catch::Contains("2-big.json was rolled back"));
  CHECK(scalar(db, "SELECT count(*) FROM sources WHERE status = 'complete'") == 1);
  CHECK(scalar(db, "SELECT count(*) FROM events") == 1);
  CHECK(scalar(db, "SELECT count(*) FROM sources WHERE status = 'partial'") == 0);
  // The graph was not rebuilt, and the case knows it.
  CHECK_THAT(run_treeline({"tree", db}).err, Catch::Contains("out of date"));
  // The same command again finishes the job.
  auto again = run_treeline({"ingest", "-q", db, dir.file("1-small.json"), dir.file("2-big.json")});
  CHECK(again.exit_code == 0);
  CHECK(scalar(db, "SELECT count(*) FROM events") == 150001);
}

TEST_CASE("A folder walk ignores files that are no event logs, which fail when named", "[robustness][walk]") {
  TempDir dir;
  fs::create_directories(dir.path() / "triage" / ".vscode");
  {
    Writer w(dir.file("triage/Security.json"));
    w.process(10, "0x100", "0x4", "C:\\Windows\\System32\\cmd.exe", "C:\\Windows\\explorer.exe", "cmd.exe");
  }
  std::ofstream(dir.file("triage/metadata.json")) << R"({"collector": "kape", "host": "win01"})" << "\n";
  std::ofstream(dir.file("triage/.vscode/settings.json")) << R"({"editor.tabSize": 2})" << "\n";
  std::ofstream(dir.file("triage/capture.zip"), std::ios::binary) << std::string("PK\x05\x06", 4) << std::string(18, '\0');
  auto r = run_treeline({"ingest", "-q", dir.file("case.db"), dir.file("triage")});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("ignored") && Catch::Contains("metadata.json") && Catch::Contains("settings.json"));
  CHECK_THAT(r.out, Catch::Contains("Ingested 1 file(s)"));
  auto named = run_treeline({"ingest", "-q", dir.file("case2.db"), dir.file("triage/metadata.json")});
  CHECK(named.exit_code == 1);
}

// Large timelines are read by several threads in time slices, and the events of one instant are
// ordered by host, channel and record; an instant larger than the in-memory limit is ordered by
// SQLite instead. Whatever the path, the output is the same, byte for byte.
TEST_CASE("A timeline read by several threads equals one read by one, ties and a 70,000-event instant included",
          "[robustness][timeline]") {
  TempDir dir;
  const std::string log = dir.file("busy.json"), db = dir.file("case.db");
  {
    Writer w(log);
    const std::string cmd = "C:\\Windows\\System32\\cmd.exe";
    int64_t record = 0;
    // 20,000 events a tenth of a second apart, each instant shared by two hosts.
    for (int i = 0; i < 10000; ++i) {
      for (const char* host : {"beta.corp.example", "alpha.corp.example"}) {
        w.computer = host;
        w.event(++record, 10 + i, hex(1000 + 4 * i), hex(4), cmd, "C:\\Windows\\explorer.exe", "cmd.exe /c x");
      }
    }
    // One instant of 70,000 events, written with their record ids in descending order.
    w.computer = "gamma.corp.example";
    for (int i = 0; i < 70000; ++i)
      w.event(500000 - i, 10 + 10000, hex(400000 + 4 * i), hex(4), cmd, "C:\\Windows\\explorer.exe", "cmd.exe /c y");
  }
  auto ingest = run_treeline({"ingest", "-q", db, log});
  INFO(ingest.err);
  REQUIRE(ingest.exit_code == 0);
  // The timeline reaches processes through event_processes only for the events the builder
  // reads processes from: a process event of another id would lose its process.
  CHECK(scalar(db, "SELECT count(*) FROM event_processes JOIN events USING (event_pk) "
                   "WHERE event_id NOT IN (4688, 4689, 1, 5)") == 0);
  CHECK(scalar(db, "SELECT count(*) FROM event_processes") == 90000);

  for (const char* format : {"csv", "json"}) {
    auto one = run_treeline({"timeline", db, "--format", format, "--threads", "1", "-o", dir.file("one")});
    auto two = run_treeline({"timeline", db, "--format", format, "--threads", "2", "-o", dir.file("two")});
    INFO(format << ": " << one.err << two.err);
    REQUIRE(one.exit_code == 0);
    REQUIRE(two.exit_code == 0);
    auto slurp = [](const std::string& path) {
      std::ifstream in(path, std::ios::binary);
      return std::string((std::istreambuf_iterator<char>(in)), {});
    };
    std::string one_text = slurp(dir.file("one")), two_text = slurp(dir.file("two"));
    CHECK(one_text.size() > 90000 * 100);
    CHECK(one_text == two_text);
    if (std::string(format) == "json") CHECK(json::parse(two_text).size() == 90000);
  }
  // Order: time, then host, then record id (the big instant ascending, though written descending).
  REQUIRE(run_treeline({"timeline", db, "--format", "csv", "-o", dir.file("order.csv")}).exit_code == 0);
  auto rows = run_shell("python3 -c \"import csv,sys; r=list(csv.DictReader(open(sys.argv[1], newline='')));"
                   "k=[(x['time_utc'], x['host'], x['channel'], int(x['record_id'])) for x in r];"
                   "print(len(r), k == sorted(k), r[0]['host'], r[-1]['record_id'])\" " +
                   treeline::test::shell_quote(dir.file("order.csv")));
  CHECK(rows.out == "90000 True alpha 500000\n");
  // A filter gives the rows it selects, in the same order, threads or not.
  auto host_one = run_treeline({"timeline", db, "--host", "beta", "--threads", "1"});
  auto host_two = run_treeline({"timeline", db, "--host", "beta", "--threads", "2"});
  CHECK(host_one.out == host_two.out);
  CHECK(std::count(host_two.out.begin(), host_two.out.end(), '\n') == 10001);
}

// Schema 0008 rebuilds processes with an integer id and fills event_processes from the graph a
// case already has: an upgraded case gives the timeline it gave before, without a rebuild.
TEST_CASE("A schema-7 case upgrades in place: processes keep their keys, the timeline is unchanged",
          "[robustness][schema]") {
  TempDir dir;
  const std::string log = dir.file("chain.json"), db = dir.file("case.db");
  {
    Writer w(log);
    const std::string cmd = "C:\\Windows\\System32\\cmd.exe";
    w.process(10, hex(1000), hex(4), cmd, "C:\\Windows\\explorer.exe", "cmd.exe");
    for (int i = 1; i < 50; ++i) w.process(10 + i, hex(1000 + 4 * i), hex(1000 + 4 * (i - 1)), cmd, cmd, "cmd.exe /c next");
  }
  REQUIRE(run_treeline({"ingest", "-q", db, log}).exit_code == 0);
  auto before = run_treeline({"timeline", db});
  REQUIRE(before.exit_code == 0);
  int64_t links = scalar(db, "SELECT count(*) FROM event_processes WHERE parent_id IS NOT NULL");
  CHECK(links == 50);
  {
    // Before schema 12 events had no execution_pid: events_v goes back to schema 9's (whose text
    // the migration holds) so that the column can go (not in legacy ALTER mode, which cannot).
    std::ifstream in(std::string(TREELINE_SOURCE_DIR) + "/schema/0009_event_data.sql");
    std::string v9((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(v9.find("CREATE VIEW events_v") != std::string::npos);
    // Schema 16 redefined logon_sessions over session_links: back to schema 4's.
    std::ifstream in4(std::string(TREELINE_SOURCE_DIR) + "/schema/0004_graph_views.sql");
    std::string v4((std::istreambuf_iterator<char>(in4)), std::istreambuf_iterator<char>());
    const auto from = v4.find("CREATE VIEW logon_sessions");
    REQUIRE(from != std::string::npos);
    const std::string sessions_v4 = v4.substr(from, v4.find("FROM sessions s;", from) + 16 - from);
    const std::string drop = "DROP VIEW ecs; DROP VIEW ecs_events; DROP VIEW ecs_processes; DROP VIEW ecs_findings; "
                             "DROP VIEW powershell_events; DROP TABLE powershell_event_links; DROP VIEW scheduled_tasks; "
                             "DROP TABLE scheduled_task_runs; DROP TABLE scheduled_task_links; DROP TABLE host_clock_offsets; "
                             "DROP TABLE host_addresses; DROP VIEW logon_sessions; " + sessions_v4 + " DROP TABLE session_links; "
                             "DROP VIEW services_installed; DROP TABLE service_install_links; DROP VIEW explicit_logons; DROP TABLE explicit_logon_links; DROP VIEW script_blocks; "
                             "DROP TABLE ps_script_blocks; DROP VIEW finding_events_v; "
                             "DROP VIEW events_v; " + v9.substr(v9.find("CREATE VIEW events_v")) +
                             "\nALTER TABLE events DROP COLUMN execution_pid;";
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(h, drop.c_str(), nullptr, nullptr, &err);
    INFO((err ? err : ""));
    REQUIRE(rc == SQLITE_OK);
    sqlite3_close(h);
  }
  {
    // The case as schema 7 left it: processes keyed by text alone, no event_processes.
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
    const char* downgrade = R"sql(
      PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON; BEGIN;
      DROP TABLE event_processes;
      CREATE TABLE p7 AS SELECT * FROM processes ORDER BY process_id DESC;
      ALTER TABLE p7 DROP COLUMN process_id;
      DROP TABLE processes;
      CREATE TABLE processes AS SELECT * FROM p7;
      DROP TABLE p7;
      DROP TABLE event_data; DROP VIEW source_paths_v; DROP TABLE source_paths;
      DROP TABLE finding_events;
      PRAGMA user_version = 7; COMMIT;)sql";
    char* err = nullptr;
    int rc = sqlite3_exec(h, downgrade, nullptr, nullptr, &err);
    INFO((err ? err : ""));
    REQUIRE(rc == SQLITE_OK);
    sqlite3_close(h);
  }
  // A unique process_key, as the schema-7 table had (its primary key).
  {
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
    REQUIRE(sqlite3_exec(h, "CREATE UNIQUE INDEX p7_key ON processes (process_key)", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(h);
  }
  CHECK(scalar(db, "PRAGMA user_version") == 7);
  auto upgrade = run_treeline({"ingest", "-q", db, log});  // already in the case: only the upgrade runs
  INFO(upgrade.err);
  REQUIRE(upgrade.exit_code == 0);
  CHECK(scalar(db, "PRAGMA user_version") >= 8);
  CHECK(scalar(db, "SELECT count(*) FROM event_processes WHERE parent_id IS NOT NULL") == links);
  CHECK(scalar(db, "SELECT count(*) FROM pragma_foreign_key_check") == 0);
  auto after = run_treeline({"timeline", db});
  CHECK(after.exit_code == 0);
  CHECK(after.out == before.out);
}
