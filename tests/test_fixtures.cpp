// The generated scenario fixtures: both independent parsers read them, ingest stores what the
// truth says, and the graph's parent links agree with the truth.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <iostream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "graph/builder.hpp"
#include "ingest/ingester.hpp"
#include "store/case_db.hpp"
#include "store/query.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace treeline;

namespace {

std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(TREELINE_SOURCE_DIR "/fixtures"))
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

fs::path fixture_dir(const std::string& name) { return fs::path(TREELINE_FIXTURES_DIR) / name; }

std::vector<nlohmann::json> truth_of(const std::string& name) {
  std::ifstream in(fixture_dir(name) / "truth.jsonl");
  REQUIRE(in.good());
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

struct Accuracy {
  int linked = 0, right = 0, parent_logged = 0, found = 0, naive_linked = 0, naive_right = 0;
  int orphan_checks = 0, orphan_right = 0;
  std::vector<std::string> wrong;
};

Accuracy measure(const std::string& name) {
  test::TempDir dir;
  auto db = store::open_case_for_write(dir.file("case.db"));
  REQUIRE(db.ok());
  ingest::Ingester ing(*db);
  auto rep = ing.run({(fixture_dir(name) / "logs").string()}, nullptr);
  REQUIRE(rep.ok());
  REQUIRE(rep->files_failed() == 0);
  REQUIRE(graph::build_graph(*db).ok());
  auto truth = truth_of(name);

  int logged = 0;
  for (const auto& t : truth) logged += t["logged"].get<bool>();
  CHECK(*db->query_int("SELECT count(*) FROM sec_process_create") == logged);

  auto rows = store::run_query(*db,
                               "SELECT host, pid, start_ft, process_key, parent_key, link_method, orphan_reason, "
                               "(SELECT p.process_key FROM processes p JOIN sec_process_create pc ON pc.event_pk = p.create_event_pk "
                               "  WHERE p.host = t.host AND p.pid = (SELECT process_id FROM sec_process_create WHERE event_pk = t.create_event_pk) "
                               "  AND p.start_time <= t.start_ft AND p.process_key <> t.process_key ORDER BY p.start_time DESC LIMIT 1) "
                               "FROM process_tree t WHERE source IN ('4688', 'both')");
  REQUIRE(rows.ok());
  std::map<std::string, std::vector<Cell>> by_identity;  // "host|pid|start" -> row
  auto identity = [](const std::string& host, int64_t pid, int64_t start) { return fmt::format("{}|{}|{}", host, pid, start); };
  for (const auto& r : rows->rows)
    by_identity[identity(std::get<std::string>(r[0]), std::get<int64_t>(r[1]), std::get<int64_t>(r[2]))] = r;
  std::map<std::string, std::string> key_of_truth;  // truth id -> process key
  for (const auto& t : truth) {
    if (!t["logged"].get<bool>()) continue;
    auto it = by_identity.find(identity(t["host"], t["pid"], t["start_ft"]));
    REQUIRE(it != by_identity.end());
    key_of_truth[t["id"]] = std::get<std::string>(it->second[3]);
  }
  auto text = [](const Cell& c) { return std::holds_alternative<std::string>(c) ? std::get<std::string>(c) : std::string(); };
  Accuracy a;
  for (const auto& t : truth) {
    if (!t["logged"].get<bool>()) continue;
    const auto& r = by_identity.at(identity(t["host"], t["pid"], t["start_ft"]));
    std::string ours = text(r[4]);
    bool linked = !ours.empty() && text(r[5]) != "placeholder";
    std::string want = t["parent_logged"].get<bool>() ? key_of_truth.at(t["parent"]) : "";
    if (linked) {
      ++a.linked;
      if (ours == want) ++a.right;
      else if (a.wrong.size() < 5) a.wrong.push_back(fmt::format("{} -> {} (truth {})", text(r[3]), ours, want.empty() ? "not in log" : want));
    }
    if (!want.empty()) {
      ++a.parent_logged;
      a.found += linked && ours == want;
    }
    std::string naive = text(r[7]);
    if (!naive.empty()) {
      ++a.naive_linked;
      a.naive_right += naive == want;
    }
    if (!t["expect_orphan"].is_null()) {
      ++a.orphan_checks;
      a.orphan_right += text(r[6]) == t["expect_orphan"].get<std::string>();
      if (text(r[6]) != t["expect_orphan"].get<std::string>())
        a.wrong.push_back(fmt::format("{}: orphan reason '{}', expected {}", t["id"].get<std::string>(), text(r[6]),
                                      t["expect_orphan"].dump()));
    }
  }
  return a;
}

}  // namespace

TEST_CASE("Every fixture passes libevtx and python-evtx with the values its scenario states", "[fixtures][parsers]") {
  if (test::run_shell("/usr/bin/python3 -c 'import Evtx'").exit_code != 0) {
    std::cerr << "SKIPPED: python3-evtx is not installed (tools/deps.sh installs it)\n";
    std::exit(77);
  }
  auto names = fixture_names();
  REQUIRE(names.size() >= 5);
  // fixtures/pinned.sha256: the large fixtures whose exact bytes were checked whole already.
  std::map<std::string, std::vector<std::string>> pinned;  // fixture -> its sha256sum lines
  {
    std::ifstream in(TREELINE_SOURCE_DIR "/fixtures/pinned.sha256");
    REQUIRE(in.good());
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && line[0] != '#') pinned[line.substr(66, line.find('/', 66) - 66)].push_back(line);
  }
  for (const auto& name : names) {
    INFO(name);
    const std::string dir = fs::path(TREELINE_FIXTURES_DIR).string();
    if (auto pin = pinned.find(name); pin != pinned.end()) {
      std::string lines;
      for (const auto& l : pin->second) lines += l + "\n";
      auto same = test::run_shell("cd " + test::shell_quote(dir) + " && printf %s " + test::shell_quote(lines) +
                                  " | sha256sum --check --status");
      if (same.exit_code == 0) {
        WARN(name << ": bytes equal fixtures/pinned.sha256, checked whole when pinned; not re-read");
        continue;
      }
    }
    auto r = test::run_shell("/usr/bin/python3 " + test::shell_quote(TREELINE_SOURCE_DIR "/tests/check_fixture.py") + " " +
                             test::shell_quote(fixture_dir(name).string()));
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    if (pinned.count(name)) {
      auto now = test::run_shell("cd " + test::shell_quote(dir) + " && sha256sum " + test::shell_quote(name) +
                                 "/logs/*.evtx " + test::shell_quote(name) + "/truth.jsonl");
      FAIL(name << ": the generator changed this fixture's bytes; the full check above ran. Pin the new bytes in "
                   "fixtures/pinned.sha256:\n" << now.out);
    }
  }
}

TEST_CASE("Parent links agree with every fixture's truth, beyond the naive join", "[fixtures][graph]") {
  for (const auto& name : fixture_names()) {
    Accuracy a = measure(name);
    double precision = a.linked ? 100.0 * a.right / a.linked : 100.0;
    double recall = a.parent_logged ? 100.0 * a.found / a.parent_logged : 100.0;
    double naive = a.naive_linked ? 100.0 * a.naive_right / a.naive_linked : 100.0;
    WARN(fmt::format("{}: precision {:.3f}% ({}/{}), recall {:.3f}% ({}/{}); naive join precision {:.3f}% ({}/{}); "
                     "orphan reasons {}/{}",
                     name, precision, a.right, a.linked, recall, a.found, a.parent_logged, naive, a.naive_right,
                     a.naive_linked, a.orphan_right, a.orphan_checks));
    for (const auto& w : a.wrong) WARN(name << ": " << w);
    INFO(name);
    CHECK(precision >= 99.9);
    CHECK(recall >= 99.0);
    CHECK(a.orphan_right == a.orphan_checks);
  }
}

namespace {

std::string slurp_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Ingests a fixture into a fresh case through the binary.
void ingest_fixture(const test::TempDir& dir, const std::string& name) {
  auto r = test::run_treeline({"ingest", "-q", dir.file("case.db"), (fixture_dir(name) / "logs").string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("Rules fire exactly where the scenarios say (golden hunts)", "[fixtures][detect][golden]") {
  for (const std::string name : {"haw-004", "triage-patterns", "intrusion-six"}) {
    test::TempDir dir;
    ingest_fixture(dir, name);
    auto r = test::run_treeline({"hunt", dir.file("case.db"), "--format", "csv"});
    INFO(name << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    const std::string golden = std::string(TREELINE_SOURCE_DIR) + "/tests/golden/hunt_" + name + ".csv";
    // TREELINE_UPDATE_GOLDEN=1 rewrites the golden file from this run; review the diff before committing.
    if (std::getenv("TREELINE_UPDATE_GOLDEN")) std::ofstream(golden, std::ios::binary) << r.out;
    CHECK(r.out == slurp_file(golden));
  }
}

TEST_CASE("HAW-004: the dump commands' PIDs resolve to lsass.exe at the time", "[fixtures][detect]") {
  test::TempDir dir;
  ingest_fixture(dir, "haw-004");
  REQUIRE(test::run_treeline({"hunt", dir.file("case.db")}).exit_code == 0);
  auto r = test::run_treeline({"query", dir.file("case.db"), "--format", "json",
                               "SELECT f.action, t.image AS target_image FROM findings f JOIN processes t "
                               "ON t.process_key = f.target_key ORDER BY f.action"});
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  REQUIRE(j.size() == 4);  // comsvcs + rdrleakdiag, each by its own rule and by the dump-tool rule
  for (const auto& row : j) CHECK(row["target_image"] == "C:\\Windows\\System32\\lsass.exe");
}

TEST_CASE("Ingesting more after a hunt rebuilds the graph and clears the stale findings", "[fixtures][detect]") {
  // Findings reference processes: a rebuild once failed here on the foreign key.
  test::TempDir dir;
  ingest_fixture(dir, "haw-004");
  REQUIRE(test::run_treeline({"hunt", dir.file("case.db")}).exit_code == 0);
  auto more = test::run_treeline({"ingest", "-q", dir.file("case.db"), (fixture_dir("triage-patterns") / "logs").string()});
  INFO(more.err);
  REQUIRE(more.exit_code == 0);
  CHECK_THAT(more.err, Catch::Contains("finding(s) of the last hunt were cleared"));
  auto count = [&] {
    auto r = test::run_treeline({"query", dir.file("case.db"), "--format", "csv", "SELECT count(*) FROM findings"});
    REQUIRE(r.exit_code == 0);
    return r.out;
  };
  CHECK(count() == "count(*)\r\n0\r\n");
  REQUIRE(test::run_treeline({"hunt", dir.file("case.db")}).exit_code == 0);
  CHECK(count() != "count(*)\r\n0\r\n");
  auto fk = test::run_treeline({"query", dir.file("case.db"), "--format", "csv", "SELECT count(*) FROM pragma_foreign_key_check"});
  CHECK(fk.out == "count(*)\r\n0\r\n");
}

TEST_CASE("The timeline CSV round-trips through Python's csv module, formulas inert", "[fixtures][timeline]") {
  test::TempDir dir;
  ingest_fixture(dir, "triage-patterns");
  REQUIRE(test::run_treeline({"hunt", dir.file("case.db")}).exit_code == 0);
  auto r = test::run_treeline({"timeline", dir.file("case.db"), "-o", dir.file("timeline.csv")});
  REQUIRE(r.exit_code == 0);
  // Two runs give the same bytes: the order is stable.
  REQUIRE(test::run_treeline({"timeline", dir.file("case.db"), "-o", dir.file("again.csv")}).exit_code == 0);
  CHECK(slurp_file(dir.file("timeline.csv")) == slurp_file(dir.file("again.csv")));
  const char* check = R"py(
import csv, sys, sqlite3
rows = list(csv.DictReader(open(sys.argv[1], newline='', encoding='utf-8')))
events = sqlite3.connect(sys.argv[2]).execute('SELECT count(*) FROM events').fetchone()[0]
assert len(rows) == events, (len(rows), events)
times = [r['time_utc'] for r in rows]
assert times == sorted(times), 'not in time order'
inj = [r for r in rows if 'calc' in r['command_line']]
assert len(inj) == 2 and all(r['command_line'] == "'=cmd|' /C calc'!A0" for r in inj), inj  # 4688 and Sysmon 1
assert not any(v.startswith(('=', '+', '@')) for r in rows for v in r.values()), 'a live formula'
tagged = {r['process_key'] for r in rows if 'office_spawns_shell' in r['findings']}
assert len(tagged) == 2, tagged
print('ok', len(rows))
)py";
  std::ofstream(dir.file("check.py")) << check;
  auto py = test::run_shell("/usr/bin/python3 " + test::shell_quote(dir.file("check.py")) + " " +
                            test::shell_quote(dir.file("timeline.csv")) + " " + test::shell_quote(dir.file("case.db")));
  INFO(py.out << py.err);
  CHECK(py.exit_code == 0);
}

TEST_CASE("graph draws a finding's tree as DOT, and as SVG with Graphviz", "[fixtures][graph]") {
  test::TempDir dir;
  ingest_fixture(dir, "haw-004");
  REQUIRE(test::run_treeline({"hunt", dir.file("case.db")}).exit_code == 0);
  auto dot = test::run_treeline({"graph", dir.file("case.db"), "--finding", "1"});
  REQUIRE(dot.exit_code == 0);
  CHECK_THAT(dot.out, Catch::StartsWith("digraph G {") && Catch::Contains("penwidth=3") && Catch::Contains("->"));
  // Nodes carry their command line (wrapped at a space), user and time; the tooltip all of it and the key.
  const int64_t comsvcs = test::scalar(dir.file("case.db"), "SELECT finding_id FROM findings WHERE rule_id = 'comsvcs_lsass_dump_attempt'");
  dot = test::run_treeline({"graph", dir.file("case.db"), "--finding", std::to_string(comsvcs)});
  REQUIRE(dot.exit_code == 0);
  CHECK_THAT(dot.out, Catch::Contains("\\nrundll32.exe C:\\\\Windows\\\\System32\\\\comsvcs.dll, \\nMiniDump"));
  CHECK_THAT(dot.out, Catch::Contains("tooltip=\"rundll32.exe C:\\\\Windows\\\\System32\\\\comsvcs.dll, MiniDump"));
  CHECK_THAT(dot.out, Catch::Contains("\\nNT AUTHORITY\\\\SYSTEM\\n"));
  auto none = test::run_treeline({"graph", dir.file("case.db"), "--finding", "999"});
  CHECK(none.exit_code == 2);
  if (test::run_shell("command -v dot").exit_code == 0) {
    auto svg = test::run_treeline({"graph", dir.file("case.db"), "--finding", "1", "--format", "svg"});
    CHECK(svg.exit_code == 0);
    CHECK_THAT(svg.out, Catch::Contains("<svg"));
  }
}
