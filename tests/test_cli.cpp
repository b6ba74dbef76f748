// The binary end to end: bad inputs get one clear line naming the path, a non-zero exit, and
// leave no half-written rows.
#include <catch2/catch.hpp>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support.hpp"

namespace fs = std::filesystem;
using treeline::test::run_shell;
using treeline::test::run_treeline;
using treeline::test::TempDir;

namespace {

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

std::string security_evtx() { return (treeline::test::shared_data() / "evtx-rs/security.evtx").string(); }

int64_t count_rows(const std::string& db_path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

}  // namespace

TEST_CASE("Every verb has --help and usage errors exit 2", "[cli]") {
  for (const char* verb : {"ingest", "query", "stats", "tree", "sessions", "hunt", "timeline", "graph", "story", "export", "search"}) {
    auto r = run_treeline({verb, "--help"});
    INFO(verb);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("Usage") || Catch::Contains("USAGE") || Catch::Contains("usage"));
  }
  CHECK(run_treeline({}).exit_code == 2);
  CHECK(run_treeline({"ingest"}).exit_code == 2);
  CHECK(run_treeline({"nosuchverb"}).exit_code == 2);
  CHECK(run_treeline({"stats", "x.db", "--format", "xml"}).exit_code == 2);
}

TEST_CASE("A file that is not EVTX fails alone, named, with no rows", "[cli][bad-input]") {
  TempDir dir;
  write_file(dir.file("notes.evtx"), "this is not an event log, just text\n");
  auto r = run_treeline({"ingest", "-q", dir.file("case.db"), dir.file("notes.evtx")});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains(dir.file("notes.evtx")) && Catch::Contains("not an EVTX, JSON or XML event log"));
  CHECK(count_rows(dir.file("case.db"), "SELECT count(*) FROM sources") == 0);
  CHECK(count_rows(dir.file("case.db"), "SELECT count(*) FROM events") == 0);
}

TEST_CASE("An EVTX signature with garbage behind it fails cleanly", "[cli][bad-input]") {
  TempDir dir;
  std::string bytes("ElfFile\0", 8);
  bytes += std::string(4096, '\x7f');
  write_file(dir.file("trunc.evtx"), bytes);
  auto r = run_treeline({"ingest", "-q", dir.file("case.db"), dir.file("trunc.evtx")});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains(dir.file("trunc.evtx")));
  CHECK(count_rows(dir.file("case.db"), "SELECT count(*) FROM sources") == 0);
}

TEST_CASE("An empty file, a missing path, a folder without logs", "[cli][bad-input]") {
  TempDir dir;
  write_file(dir.file("empty.evtx"), "");
  auto empty = run_treeline({"ingest", "-q", dir.file("case.db"), dir.file("empty.evtx")});
  CHECK(empty.exit_code == 1);
  CHECK_THAT(empty.err, Catch::Contains(dir.file("empty.evtx") + ": empty file"));

  auto missing = run_treeline({"ingest", "-q", dir.file("case.db"), dir.file("nope.evtx")});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::Contains(dir.file("nope.evtx")) && Catch::Contains("no such file"));

  fs::create_directories(dir.path() / "nologs");
  write_file(dir.file("nologs/readme.txt"), "hello");
  auto nologs = run_treeline({"ingest", "-q", dir.file("case.db"), dir.file("nologs")});
  CHECK(nologs.exit_code == 1);
  CHECK_THAT(nologs.err, Catch::Contains(dir.file("nologs")) && Catch::Contains("no event logs"));
  // Each error is one line.
  CHECK(std::count(nologs.err.begin(), nologs.err.end(), '\n') == 1);
}

TEST_CASE("A bad file among good ones: the good ones are kept", "[cli][bad-input]") {
  TempDir dir;
  fs::create_directories(dir.path() / "logs");
  fs::copy_file(security_evtx(), dir.file("logs/Security.evtx"));
  write_file(dir.file("logs/Broken.evtx"), "junk");
  auto r = run_treeline({"ingest", "-q", dir.file("case.db"), dir.file("logs")});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("Broken.evtx"));
  CHECK(count_rows(dir.file("case.db"), "SELECT count(*) FROM events") == 2261);
}

TEST_CASE("Skipped records finish with exit code 3", "[cli][damaged]") {
  TempDir dir;
  auto capi2 = treeline::test::shared_data() / "evtx-rs/E_Windows_system32_winevt_logs_Microsoft-Windows-CAPI2%4Operational.evtx";
  // libevtx cannot read three of this file's records (the native reader can: see below).
  auto r = run_treeline({"ingest", "-q", "--reader", "libevtx", dir.file("case.db"), capi2.string()});
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.err, Catch::Contains("skipped"));
  CHECK(count_rows(dir.file("case.db"), "SELECT count(*) FROM ingest_issues WHERE severity = 'skipped'") > 0);
  CHECK(count_rows(dir.file("case.db"), "SELECT count(*) FROM events") > 300);
  auto native = run_treeline({"ingest", "-q", "--reader", "native", dir.file("native.db"), capi2.string()});
  CHECK(native.exit_code == 0);
  CHECK(count_rows(dir.file("native.db"), "SELECT count(*) FROM events") == 340);
}

TEST_CASE("A case locked by another process is reported, not waited on forever", "[cli][bad-input]") {
  TempDir dir;
  REQUIRE(run_treeline({"ingest", "-q", dir.file("case.db"), security_evtx()}).exit_code == 0);
  sqlite3* holder = nullptr;
  REQUIRE(sqlite3_open(dir.file("case.db").c_str(), &holder) == SQLITE_OK);
  REQUIRE(sqlite3_exec(holder, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
  auto other = (treeline::test::shared_data() / "evtx-rs/post-Security.evtx").string();
  auto r = run_treeline({"ingest", "-q", dir.file("case.db"), other});
  sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(holder);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains(dir.file("case.db")) && Catch::Contains("locked"));
}

TEST_CASE("A read-only case is reported before any work", "[cli][bad-input]") {
  TempDir dir;
  REQUIRE(run_treeline({"ingest", "-q", dir.file("case.db"), security_evtx()}).exit_code == 0);
  fs::permissions(dir.file("case.db"), fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  std::string cmd;
  // root ignores file modes; run as nobody so the mode is what SQLite meets.
  if (geteuid() == 0) {
    // tools/deps.sh installs util-linux, which has setpriv: its absence is a broken set-up.
    REQUIRE(run_shell("command -v setpriv").exit_code == 0);
    fs::permissions(dir.path(), fs::perms::all);
    cmd = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
  }
  auto other = (treeline::test::shared_data() / "evtx-rs/post-Security.evtx").string();
  auto r = run_shell(cmd + treeline::test::shell_quote(TREELINE_BINARY) + " ingest -q " +
                     treeline::test::shell_quote(dir.file("case.db")) + " " + treeline::test::shell_quote(other));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains(dir.file("case.db")) && Catch::Contains("read-only"));
}

TEST_CASE("query is read-only and runs named queries in every format", "[cli][query]") {
  TempDir dir;
  REQUIRE(run_treeline({"ingest", "-q", dir.file("case.db"), security_evtx()}).exit_code == 0);
  auto del = run_treeline({"query", dir.file("case.db"), "DELETE FROM events"});
  CHECK(del.exit_code != 0);
  CHECK(count_rows(dir.file("case.db"), "SELECT count(*) FROM events") == 2261);

  auto list = run_treeline({"query", "--list"});
  CHECK(list.exit_code == 0);
  CHECK_THAT(list.out, Catch::Contains("process_creations") && Catch::Contains("logons"));

  auto logons = run_treeline({"query", dir.file("case.db"), "--named", "logons", "--format", "json"});
  REQUIRE(logons.exit_code == 0);
  auto j = nlohmann::json::parse(logons.out);
  CHECK(j.size() == 583);
  CHECK(j[0].contains("logon_type"));

  auto csv = run_treeline({"query", dir.file("case.db"), "SELECT count(*) AS n FROM logons", "--format", "csv"});
  CHECK(csv.out == "n\r\n583\r\n");

  auto unknown = run_treeline({"query", dir.file("case.db"), "--named", "nope"});
  CHECK(unknown.exit_code == 2);
  auto bad_sql = run_treeline({"query", dir.file("case.db"), "SELEC nonsense"});
  CHECK(bad_sql.exit_code == 2);
  CHECK_FALSE(bad_sql.err.empty());
}

TEST_CASE("stats shows hosts, channels, event ids and audit coverage", "[cli][stats]") {
  TempDir dir;
  auto folder = treeline::test::shared_data() / "capattack/procdump_t1003.001_capattack/logs";
  REQUIRE(run_treeline({"ingest", "-q", dir.file("case.db"), folder.string()}).exit_code == 0);
  // CSV is one table: the one --section names, as plain RFC 4180 rows.
  auto csv = run_treeline({"stats", dir.file("case.db"), "--format", "csv", "--section", "hosts"});
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.out.rfind("host,computer_names,events,first_utc,last_utc\r\n", 0) == 0);
  CHECK(csv.out.find('#') == std::string::npos);
  CHECK(run_treeline({"stats", dir.file("case.db"), "--format", "csv"}).exit_code == 2);
  CHECK(run_treeline({"stats", dir.file("case.db"), "--section", "nope"}).exit_code == 2);
  auto r = run_treeline({"stats", dir.file("case.db"), "--format", "json"});
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  // The folder also holds logs from before the machine was renamed: those hosts show no 4688.
  nlohmann::json audited;
  size_t hosts_without_4688 = 0;
  for (const auto& row : j.at("Process auditing coverage (Security 4688)")) {
    if (row["records_4688"] == 0) ++hosts_without_4688;
    else audited = row;
  }
  CHECK(hosts_without_4688 == 9);
  REQUIRE(audited.is_object());
  CHECK(audited["host"] == "win-host-mhaag-attack-range-117");
  CHECK(audited["records_4688"] == 72);
  CHECK(audited["versions"] == "2");
  CHECK(audited["parent_name_pct"].get<double>() == Approx(100.0));
  CHECK(audited["command_line_pct"].get<double>() == Approx(100.0));
  bool saw_sysmon = false;
  for (const auto& row : j.at("Events by host, channel and event id"))
    if (row["channel"] == "Microsoft-Windows-Sysmon/Operational" && row["event_id"] == 1) saw_sysmon = row["records"] == 26;
  CHECK(saw_sysmon);
  CHECK(j.at("Hosts")[0]["first_utc"].get<std::string>().size() == 28);
}
