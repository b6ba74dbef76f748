// SIEM JSON exports, XML exports and archives: same rows as EVTX, bad records reported by line.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support.hpp"

namespace fs = std::filesystem;
using treeline::test::run_shell;
using treeline::test::run_treeline;
using treeline::test::shell_quote;
using treeline::test::TempDir;

namespace {

nlohmann::json query_json(const std::string& db, const std::string& sql) {
  auto r = run_treeline({"query", db, sql, "--format", "json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

int run_python(const TempDir& dir, const std::string& script, const std::vector<std::string>& args, std::string* out = nullptr) {
  std::ofstream(dir.file("script.py")) << script;
  std::string cmd = "/usr/bin/python3 " + shell_quote(dir.file("script.py"));
  for (const auto& a : args) cmd += " " + shell_quote(a);
  auto r = run_shell(cmd);
  if (out) *out = r.out;
  INFO(r.out << r.err);
  return r.exit_code;
}

const fs::path kExports = TREELINE_EXPORTS_DIR "/haw-004";
const fs::path kHawLogs = TREELINE_FIXTURES_DIR "/haw-004/logs";

}  // namespace

TEST_CASE("A Winlogbeat/ECS export and a wevtutil XML export give the EVTX's rows", "[inputs][json][xml]") {
  TempDir dir;
  std::vector<std::string> ecs, xml;
  for (const auto& e : fs::directory_iterator(kExports)) {
    if (e.path().string().ends_with(".ecs.jsonl")) ecs.push_back(e.path().string());
    if (e.path().extension() == ".xml") xml.push_back(e.path().string());
  }
  REQUIRE(ecs.size() == 3);
  REQUIRE(xml.size() == 3);
  auto ingest = [&](const std::string& db, std::vector<std::string> inputs) {
    std::vector<std::string> args = {"ingest", "-q", dir.file(db)};
    args.insert(args.end(), inputs.begin(), inputs.end());
    auto r = run_treeline(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  };
  ingest("evtx.db", {kHawLogs.string()});
  ingest("ecs.db", ecs);
  ingest("xml.db", xml);
  // Every typed row, without the columns that name the source or carry its time precision
  // (ECS keeps milliseconds; EVTX and XML keep 100 ns).
  const std::vector<std::string> checks = {
      "SELECT host, event_id, version, record_id FROM events_v ORDER BY host, channel, record_id",
      "SELECT host, pid, image, command_line, parent_pid, parent_image, logon_id, elevation, integrity_level, "
      "subject_user_sid, target_user_name, target_logon_id FROM process_creations ORDER BY host, record_id",
      "SELECT host, logon_id, logon_type, user_sid, user_name, ip_address, elevated_token, target_linked_logon_id "
      "FROM logons ORDER BY host, record_id",
      "SELECT host, process_guid, pid, image, command_line, logon_id, parent_process_guid, parent_pid, original_file_name "
      "FROM sysmon_processes ORDER BY host, record_id",
      "SELECT subject_user_name, target_user_name, target_server_name, ip_address FROM sec_explicit_logon",
      "SELECT process_key, parent_key, link_method, session_key FROM process_tree ORDER BY process_key",
      // Every event's data, any event id: the same from the EVTX as from each export.
      "SELECT host, channel, record_id, data FROM events_v ORDER BY host, channel, record_id"};
  for (const auto& sql : checks) {
    INFO(sql);
    auto want = query_json(dir.file("evtx.db"), sql);
    CHECK(want.size() > 0);
    CHECK(query_json(dir.file("xml.db"), sql) == want);
    if (sql.find("process_key") != std::string::npos) continue;
    auto from_ecs = query_json(dir.file("ecs.db"), sql);
    // Winlogbeat writes event_data's keys sorted (a Go map), not in the record's order: the data
    // is compared as objects there, whose key order does not count.
    if (sql.find("data") != std::string::npos)
      for (auto* rows : {&want, &from_ecs})
        for (auto& row : *rows)
          if (row["data"].is_string()) row["data"] = nlohmann::json::parse(row["data"].get<std::string>());
    CHECK(from_ecs == want);
  }
  // Provenance: the line of each JSON record.
  auto lines = query_json(dir.file("ecs.db"), "SELECT min(source_line) AS a, max(source_line) AS b FROM events_v");
  CHECK(lines[0]["a"] == 1);
  CHECK(lines[0]["b"].get<int>() > 10);
}

TEST_CASE("The same events from EVTX and from its export are stored once", "[inputs][dedupe]") {
  TempDir dir;
  REQUIRE(run_treeline({"ingest", "-q", dir.file("case.db"), kHawLogs.string()}).exit_code == 0);
  auto before = query_json(dir.file("case.db"), "SELECT count(*) AS n FROM events")[0]["n"].get<int>();
  auto r = run_treeline({"ingest", "-q", dir.file("case.db"), kExports.string(), "--format", "json"});
  REQUIRE(r.exit_code == 0);
  auto report = nlohmann::json::parse(r.out);
  int added = 0, dup = 0;
  for (const auto& f : report["files"]) {
    added += f["new"].get<int>();
    dup += f["duplicate"].get<int>();
  }
  CHECK(added == 0);
  CHECK(dup == 2 * before);  // the ECS and the XML export each hold every record
  CHECK(query_json(dir.file("case.db"), "SELECT count(*) AS n FROM events")[0]["n"] == before);
}

TEST_CASE("Bad JSON records are skipped by line and the rest loads", "[inputs][json][bad-input]") {
  TempDir dir;
  std::string good =
      R"({"EventID": 4688, "Channel": "security", "Hostname": "WS1.corp.local", "TimeCreated": "2024-01-01T10:00:00.000Z", "NewProcessId": "0x10", "NewProcessName": "C:\\Windows\\cmd.exe", "ProcessId": "0x4", "SubjectLogonId": "0x3e7"})";
  std::ofstream f(dir.file("export.json"), std::ios::binary);
  f << good << "\n"
    << R"({"EventID": 4624, "Channel": "Security", "TimeCreated": "2024-01-01T10:00:01Z", "TargetLogonId": "0x1"})" << "\n"  // no host
    << R"({"foo": "bar"})" << "\n"                                                                                       // unknown shape
    << "{\"EventID\": 4688, \"Channel\": \"Security\", \"Hostname\": \"WS1\", \"TimeCreated\": \"2024-01-01T10:00:02Z\", \"CommandLine\": \"\xff\xfe\"}\n"  // invalid UTF-8
    << good.substr(0, 60);  // truncated last line
  f.close();
  auto r = run_treeline({"ingest", "-q", dir.file("case.db"), dir.file("export.json")});
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.err, Catch::Contains("export.json: line 2: skipped: no Computer/Hostname"));
  CHECK_THAT(r.err, Catch::Contains("line 3: skipped: unknown JSON shape"));
  CHECK_THAT(r.err, Catch::Contains("line 4: skipped: not valid JSON"));
  // The last line, without its newline: the export was cut there, and is partial.
  CHECK_THAT(r.err, Catch::Contains("line 5: skipped: the file ends inside this record"));
  CHECK(query_json(dir.file("case.db"), "SELECT status FROM sources")[0]["status"] == "partial");
  auto rows = query_json(dir.file("case.db"), "SELECT channel, pid, image, source_line FROM process_creations JOIN events_v USING (event_pk)");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["channel"] == "Security");  // "security" is accepted, stored canonical
  CHECK(rows[0]["pid"] == 16);
  CHECK(rows[0]["source_line"] == 1);
  CHECK(query_json(dir.file("case.db"), "SELECT count(*) AS n FROM ingest_issues WHERE severity = 'skipped'")[0]["n"] == 4);

  std::ofstream(dir.file("other.json")) << R"({"name": "not an event export"})" << "\n";
  auto other = run_treeline({"ingest", "-q", dir.file("case.db"), dir.file("other.json")});
  CHECK(other.exit_code == 1);
  CHECK_THAT(other.err, Catch::Contains("other.json: no Windows event in this json file"));
}

TEST_CASE("A Sysmon ProcessId the exporter dropped is recovered from the message", "[inputs][json]") {
  TempDir dir;
  nlohmann::json j = {{"EventID", 1}, {"Channel", "Microsoft-Windows-Sysmon/Operational"}, {"Hostname", "WS1"},
                      {"TimeCreated", "2024-01-01T10:00:00.000Z"}, {"ProcessID", 3304}, {"Image", "C:\\x.exe"},
                      {"ProcessGuid", "{1}"}, {"Message", "Process Create:\r\nRuleName: -\r\nProcessGuid: {1}\r\nProcessId: 7508\r\nImage: C:\\x.exe"}};
  std::ofstream(dir.file("s.json")) << j.dump() << "\n";
  REQUIRE(run_treeline({"ingest", "-q", dir.file("case.db"), dir.file("s.json")}).exit_code == 0);
  CHECK(query_json(dir.file("case.db"), "SELECT pid FROM sysmon_processes")[0]["pid"] == 7508);
}

TEST_CASE("Sigma regression JSON (Event.System) ingests", "[inputs][json][real]") {
  auto sigma = treeline::test::shared_data() / "sigma";
  TempDir dir;
  auto r = run_treeline({"ingest", "-q", dir.file("case.db"), sigma.string()});
  INFO(r.err);
  CHECK((r.exit_code == 0 || r.exit_code == 3));
  auto n = query_json(dir.file("case.db"), "SELECT count(*) AS n FROM sources WHERE format = 'json'")[0]["n"].get<int>();
  CHECK(n >= 60);
  CHECK(query_json(dir.file("case.db"), "SELECT count(*) AS n FROM sysmon_processes")[0]["n"].get<int>() > 0);
}

TEST_CASE("OTRF campaign zips: per-event-id counts equal Python's count of the lines", "[inputs][otrf][real]") {
  auto otrf = treeline::test::shared_data() / "otrf";
  TempDir dir;
  auto r = run_treeline({"ingest", "-q", dir.file("case.db"), otrf.string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const char* count = R"py(
import json, sys, zipfile, glob, collections, sqlite3
want = collections.Counter()
for z in sorted(glob.glob(sys.argv[1] + '/*.zip')):
    with zipfile.ZipFile(z) as f:
        for name in f.namelist():
            for line in f.open(name):
                if line.strip():
                    j = json.loads(line)
                    want[(j['Channel'].lower(), int(j['EventID']))] += 1
db = sqlite3.connect(sys.argv[2])
have = collections.Counter()
for ch, eid, n in db.execute('SELECT lower(channel), event_id, count(*) FROM events_v GROUP BY 1, 2'):
    have[(ch, eid)] = n
bad = {k: (want[k], have[k]) for k in set(want) | set(have) if want[k] != have[k]}
print(sum(want.values()), 'lines,', len(want), 'keys,', len(bad), 'differences', list(bad.items())[:5])
sys.exit(1 if bad else 0)
)py";
  std::string out;
  CHECK(run_python(dir, count, {otrf.string(), dir.file("case.db")}, &out) == 0);
  WARN(out);
  auto members = query_json(dir.file("case.db"), "SELECT count(*) AS n FROM sources WHERE container IS NOT NULL AND member LIKE '%.json'");
  CHECK(members[0]["n"] == 4);
}

TEST_CASE("Winlogbeat 6.7 exports (OTRF, cut archives) are read: per-event-id counts equal Python's count of the lines",
          "[inputs][winlogbeat][real]") {
  auto dir_in = treeline::test::shared_data() / "otrf-winlogbeat";
  TempDir dir;
  auto r = run_treeline({"ingest", "-q", dir.file("case.db"), dir_in.string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // Python reads the members up to the cut of their gzip stream, as the public copies end.
  const char* count = R"py(
import json, sys, tarfile, glob, collections, sqlite3
want = collections.Counter()
for t in sorted(glob.glob(sys.argv[1] + '/*.tar.gz')):
    try:
        with tarfile.open(t) as f:
            for m in f:
                if not m.isfile(): continue
                for line in f.extractfile(m):
                    if line.strip():
                        j = json.loads(line)
                        want[(j['log_name'].lower(), int(j['event_id']))] += 1
    except (EOFError, tarfile.ReadError):
        pass
db = sqlite3.connect(sys.argv[2])
have = collections.Counter()
for ch, eid, n in db.execute('SELECT lower(channel), event_id, count(*) FROM events_v GROUP BY 1, 2'):
    have[(ch, eid)] = n
bad = {k: (want[k], have[k]) for k in set(want) | set(have) if want[k] != have[k]}
print(sum(want.values()), 'lines,', len(want), 'keys,', len(bad), 'differences', list(bad.items())[:5])
sys.exit(1 if bad or sum(want.values()) < 10000 else 0)
)py";
  std::string out;
  CHECK(run_python(dir, count, {dir_in.string(), dir.file("case.db")}, &out) == 0);
  WARN(out);
  // Every event keeps its data; a 4688 its creator.
  auto sec = query_json(dir.file("case.db"), "SELECT count(*) AS n, count(data) AS d FROM events_v");
  CHECK(sec[0]["n"] == sec[0]["d"]);
}

// An exporter that folded 4688's creator ProcessId into its own process_id, or dropped 1102's
// UserData, still has the message: the typed row gets them from it, the data stays as exported.
TEST_CASE("A 4688's creator PID and a 1102's user are recovered from the message", "[inputs][winlogbeat][real]") {
  auto dir_in = treeline::test::shared_data() / "otrf-winlogbeat";
  TempDir dir;
  const char* make = R"py(
import json, sys, tarfile
out = open(sys.argv[2], 'w')
with tarfile.open(sys.argv[1]) as f:
    try:
        for m in f:
            for line in f.extractfile(m):
                j = json.loads(line)
                if j.get('event_id') == 4688 and 'ProcessId' in j['event_data']:
                    print(j['event_data'].pop('ProcessId'))
                    out.write(json.dumps(j) + '\n')
                    break
            break
    except EOFError:
        pass
j = {'@timestamp': '2019-04-03T13:40:00.000Z', 'event_id': 1102, 'log_name': 'Security', 'computer_name': 'IT001.shire.com',
     'record_number': '777', 'source_name': 'Microsoft-Windows-Eventlog',
     'message': 'The audit log was cleared.\nSubject:\n\tSecurity ID:\tS-1-5-21-1-2-3-1104\n\tAccount Name:\tnmartha\n'
                '\tDomain Name:\tSHIRE\n\tLogon ID:\t0xC0C9F'}
out.write(json.dumps(j) + '\n')
)py";
  std::string pid;
  REQUIRE(run_python(dir, make, {(dir_in / "empire_scm_dll_hijack_ikeext.tar.gz").string(), dir.file("folded.json")}, &pid) == 0);
  pid = pid.substr(0, pid.find('\n'));
  REQUIRE(pid.rfind("0x", 0) == 0);
  auto r = run_treeline({"ingest", "-q", dir.file("case.db"), dir.file("folded.json")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto pc = query_json(dir.file("case.db"), "SELECT parent_pid, json_extract(data, '$.ProcessId') AS in_data FROM process_creations "
                                            "JOIN events_v USING (event_pk)");
  REQUIRE(pc.size() == 1);
  CHECK(pc[0]["parent_pid"] == std::stoll(pid, nullptr, 16));
  CHECK(pc[0]["in_data"].is_null());
  auto lc = query_json(dir.file("case.db"), "SELECT subject_user_name, subject_domain_name, subject_logon_id FROM log_integrity "
                                            "WHERE event_id = 1102");
  REQUIRE(lc.size() == 1);
  CHECK(lc[0]["subject_user_name"] == "nmartha");
  CHECK(lc[0]["subject_domain_name"] == "SHIRE");
  CHECK(lc[0]["subject_logon_id"] == 0xc0c9f);
}

TEST_CASE("OTRF: 4688 parent links from the Security lines agree with Sysmon's truth", "[inputs][otrf][graph][real]") {
  auto otrf = treeline::test::shared_data() / "otrf";
  const char* split = R"py(
import json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as f:
    sec = open(sys.argv[2], 'w'); sysm = open(sys.argv[3], 'w')
    for name in f.namelist():
        for line in f.open(name):
            j = json.loads(line)
            if j['Channel'].lower() == 'security': sec.write(line.decode())
            # The truth is Sysmon 1 (process create) alone: the other Sysmon lines are not read.
            elif j['Channel'].lower() == 'microsoft-windows-sysmon/operational' and str(j.get('EventID')) == '1':
                sysm.write(line.decode())
)py";
  const char* judge = R"py(
import sqlite3, sys
sec = sqlite3.connect(sys.argv[1]); sysm = sqlite3.connect(sys.argv[2])
procs = sec.execute("SELECT process_key, host, pid, lower(image), start_ft, parent_key, link_method FROM process_tree WHERE source = '4688'").fetchall()
def find(host, pid, image, t):
    for p in procs:
        if p[1] == host and p[2] == pid and p[3] == image and abs(p[4] - t) <= 50000000: return p
truth = sysm.execute("SELECT lower(trim(process_guid, '{}')), host_short, pid, lower(image), time_ft, lower(trim(parent_process_guid, '{}')), parent_pid, lower(parent_image) FROM sysmon_processes WHERE event_id = 1").fetchall()
by_guid = {t[0]: find(t[1], t[2], t[3], t[4]) for t in truth}
for t in truth:
    child = by_guid[t[0]]
    if t[5] not in by_guid and child:
        named = [p for p in procs if p[1] == t[1] and p[2] == t[6] and p[3] == t[7] and p[4] <= child[4] and p[0] != child[0]]
        if len(named) == 1: by_guid[t[5]] = named[0]
linked = right = in_log = found = judged = 0
for t in truth:
    child = by_guid[t[0]]
    if not child: continue
    judged += 1
    parent = by_guid.get(t[5])
    is_linked = child[6] not in (None, 'placeholder')
    if is_linked:
        linked += 1; right += parent is not None and child[5] == parent[0]
    if parent:
        in_log += 1; found += is_linked and child[5] == parent[0]
print(f"judged {judged}: precision {right}/{linked}, recall {found}/{in_log}")
sys.exit(0 if right == linked and found * 100 >= in_log * 99 and judged > 0 else 1)
)py";
  for (const auto& zip : fs::directory_iterator(otrf)) {
    if (zip.path().extension() != ".zip") continue;
    TempDir dir;
    INFO(zip.path().filename().string());
    REQUIRE(run_python(dir, split, {zip.path().string(), dir.file("security.jsonl"), dir.file("sysmon.jsonl")}) == 0);
    REQUIRE(run_treeline({"ingest", "-q", dir.file("sec.db"), dir.file("security.jsonl")}).exit_code == 0);
    REQUIRE(run_treeline({"ingest", "-q", dir.file("sysmon.db"), dir.file("sysmon.jsonl")}).exit_code == 0);
    std::string out;
    CHECK(run_python(dir, judge, {dir.file("sec.db"), dir.file("sysmon.db")}, &out) == 0);
    WARN(zip.path().filename().string() << ": " << out);
  }
}

// In `dir`, from a logs folder: triage.zip (the folder as winevt/Logs/...), Security.evtx.gz
// (its Security log, a bare .gz) and cut.evtx.gz (that .gz cut short at 60%).
static void make_triage_archives(const TempDir& dir, const std::filesystem::path& folder) {
  const char* zipit = R"py(
import sys, zipfile, os, gzip, shutil
with zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as z:
    for name in sorted(os.listdir(sys.argv[1])):
        z.write(os.path.join(sys.argv[1], name), 'winevt/Logs/' + name)
with open(os.path.join(sys.argv[1], 'Security.evtx'), 'rb') as src, gzip.open(sys.argv[3], 'wb') as dst:
    shutil.copyfileobj(src, dst)
data = open(sys.argv[3], 'rb').read()
open(sys.argv[4], 'wb').write(data[:len(data) * 6 // 10])
)py";
  REQUIRE(run_python(dir, zipit, {folder.string(), dir.file("triage.zip"), dir.file("Security.evtx.gz"),
                                  dir.file("cut.evtx.gz")}) == 0);
}

TEST_CASE("A zip of a logs folder ingests like the folder and .gz is read in place", "[inputs][archive][real]") {
  auto folder = treeline::test::shared_data() / "capattack/procdump_t1003.001_capattack/logs";
  TempDir dir;
  make_triage_archives(dir, folder);
  REQUIRE(run_treeline({"ingest", "-q", dir.file("folder.db"), folder.string()}).exit_code == 0);
  REQUIRE(run_treeline({"ingest", "-q", dir.file("zip.db"), dir.file("triage.zip")}).exit_code == 0);
  const std::string sql = "SELECT channel, event_id, count(*) AS n FROM events_v GROUP BY 1, 2 ORDER BY 1, 2";
  CHECK(query_json(dir.file("zip.db"), sql) == query_json(dir.file("folder.db"), sql));
  auto prov = query_json(dir.file("zip.db"), "SELECT source_container, source_member FROM events_v WHERE channel = 'Security' LIMIT 1");
  CHECK_THAT(prov[0]["source_container"].get<std::string>(), Catch::EndsWith("triage.zip"));
  CHECK(prov[0]["source_member"] == "winevt/Logs/Security.evtx");
  REQUIRE(run_treeline({"ingest", "-q", dir.file("gz.db"), dir.file("Security.evtx.gz")}).exit_code == 0);
  CHECK(query_json(dir.file("gz.db"), "SELECT count(*) AS n FROM sec_process_create")[0]["n"] == 72);
}

TEST_CASE("Archive members larger than the memory limit stream: same rows, same hashes, damage keeps what came before",
          "[inputs][archive][real]") {
  auto folder = treeline::test::shared_data() / "capattack/procdump_t1003.001_capattack/logs";
  TempDir dir;
  make_triage_archives(dir, folder);
  // --member-memory 0: every member streams, the zip's (size known) and the bare .gz's (not).
  REQUIRE(run_treeline({"ingest", "-q", dir.file("mem.db"), dir.file("triage.zip"), dir.file("Security.evtx.gz")})
              .exit_code == 0);
  auto streamed = run_treeline({"ingest", "-q", "--member-memory", "0", dir.file("stream.db"), dir.file("triage.zip"),
                                dir.file("Security.evtx.gz")});
  // A stream is carved too; only fragments whose template is not in their chunk wait for a second
  // reading a stream cannot give, and each is named.
  CHECK(streamed.exit_code == 0);
  const std::string sql = "SELECT path, size, sha256, status FROM sources ORDER BY path";
  CHECK(query_json(dir.file("stream.db"), sql) == query_json(dir.file("mem.db"), sql));
  const std::string live = "SELECT channel, event_id, record_id, time_ft FROM events_v WHERE NOT recovered ORDER BY 1, 2, 3";
  CHECK(query_json(dir.file("stream.db"), live) == query_json(dir.file("mem.db"), live));
  CHECK(query_json(dir.file("stream.db"), "SELECT count(*) AS n FROM sec_process_create")[0]["n"] == 72);
  const std::string recovered = "SELECT count(*) AS n FROM events WHERE recovered";
  auto carved_streamed = query_json(dir.file("stream.db"), recovered)[0]["n"].get<int64_t>();
  auto carved_whole = query_json(dir.file("mem.db"), recovered)[0]["n"].get<int64_t>();
  CHECK(carved_streamed > 0);
  CHECK(carved_streamed <= carved_whole);
  auto waited = query_json(dir.file("stream.db"), "SELECT count(*) AS n FROM ingest_issues WHERE reason LIKE "
                                                  "'%a streamed member cannot be read twice%'")[0]["n"].get<int64_t>();
  CHECK(carved_streamed + waited >= carved_whole);

  // A .gz cut short: the records before the damage stay, the damage is named, exit 3.
  auto cut = run_treeline({"ingest", "-q", dir.file("cut.db"), dir.file("cut.evtx.gz")});
  CHECK(cut.exit_code == 3);
  auto kept = query_json(dir.file("cut.db"), "SELECT count(*) AS n FROM sec_process_create")[0]["n"].get<int64_t>();
  CHECK(kept > 0);
  CHECK(kept < 72);
  auto damage = query_json(dir.file("cut.db"), "SELECT reason FROM ingest_issues WHERE reason LIKE '%damaged member%'");
  REQUIRE(damage.size() == 1);
  CHECK_THAT(damage[0]["reason"].get<std::string>(), Catch::Contains("cut.evtx.gz!cut.evtx"));
}

// A SIEM export cut short (a copy that stopped mid-record) keeps every whole record before the
// cut, is marked partial, names where it ends, and exits 3; the same export whole is complete.
TEST_CASE("A JSON lines or XML export cut inside its last record is partial, keeps the rest, exits 3",
          "[inputs][cut]") {
  TempDir dir;
  for (const char* name : {"hanguel-dc01-Security.ecs.jsonl", "hanguel-dc01-Security.xml"}) {
    INFO(name);
    std::ifstream in(kExports / name, std::ios::binary);
    REQUIRE(in.good());
    std::string whole((std::istreambuf_iterator<char>(in)), {});
    // Cut in the middle of the last record: 40 bytes past its start.
    bool xml = std::string(name).ends_with(".xml");
    size_t last = xml ? whole.rfind("<Event ") : whole.rfind('\n', whole.size() - 2) + 1;
    if (xml && last == std::string::npos) last = whole.rfind("<Event>");
    REQUIRE(last != std::string::npos);
    std::string cut_name = std::string("cut-") + name;
    std::ofstream(dir.file(cut_name), std::ios::binary) << whole.substr(0, last + 40);
    std::string whole_db = dir.file(std::string(name) + ".db"), cut_db = dir.file(cut_name + ".db");
    REQUIRE(run_treeline({"ingest", "-q", whole_db, (kExports / name).string()}).exit_code == 0);
    auto cut = run_treeline({"ingest", "-q", cut_db, dir.file(cut_name)});
    CHECK(cut.exit_code == 3);
    CHECK(query_json(whole_db, "SELECT status FROM sources")[0]["status"] == "complete");
    CHECK(query_json(cut_db, "SELECT status FROM sources")[0]["status"] == "partial");
    auto whole_n = query_json(whole_db, "SELECT count(*) AS n FROM events")[0]["n"].get<int64_t>();
    CHECK(query_json(cut_db, "SELECT count(*) AS n FROM events")[0]["n"].get<int64_t>() == whole_n - 1);
    auto issue = query_json(cut_db, "SELECT reason FROM ingest_issues WHERE severity = 'skipped'");
    REQUIRE(issue.size() == 1);
    CHECK_THAT(issue[0]["reason"].get<std::string>(), Catch::Contains("cut short"));
  }
  // The same records as one JSON array (read element by element), cut inside an element.
  std::ifstream lines_in(kExports / "hanguel-dc01-Security.ecs.jsonl", std::ios::binary);
  std::string array = "[\n", line;
  size_t n = 0;
  while (std::getline(lines_in, line))
    if (!line.empty()) array += (n++ ? ",\n" : "") + line;
  array += "\n]\n";
  REQUIRE(n > 10);
  std::ofstream(dir.file("array.json"), std::ios::binary) << array;
  size_t last = array.rfind(",\n") + 2;
  std::ofstream(dir.file("array-cut.json"), std::ios::binary) << array.substr(0, last + 40);
  REQUIRE(run_treeline({"ingest", "-q", dir.file("array.db"), dir.file("array.json")}).exit_code == 0);
  CHECK(query_json(dir.file("array.db"), "SELECT count(*) AS n FROM events")[0]["n"] == n);
  auto cut = run_treeline({"ingest", "-q", dir.file("array-cut.db"), dir.file("array-cut.json")});
  CHECK(cut.exit_code == 3);
  CHECK(query_json(dir.file("array-cut.db"), "SELECT status FROM sources")[0]["status"] == "partial");
  CHECK(query_json(dir.file("array-cut.db"), "SELECT count(*) AS n FROM events")[0]["n"] == n - 1);
}
