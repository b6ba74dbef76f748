// The process graph on hand-made stories whose true parents are known.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "graph/builder.hpp"
#include "graph/services.hpp"
#include "graph/process_graph.hpp"
#include "report/tree.hpp"
#include "store/case_db.hpp"
#include "store/query.hpp"
#include "support.hpp"
#include "synthetic.hpp"

using namespace treeline;
using test::SyntheticLog;

namespace {

struct Case {
  test::TempDir dir;
  store::Db db;
  Case() : db(std::move(store::open_case_for_write(dir.file("case.db")).value())) {}
  void add(SyntheticLog& log, const std::string& name) {
    REQUIRE(log.write(db, name).ok());
  }
  graph::BuildStats build() {
    auto s = graph::build_graph(db);
    REQUIRE(s.ok());
    return s.value();
  }
  // The link of the process with this pid started at t seconds: parent pid, image, method, reason.
  std::vector<Cell> link(const std::string& host, int64_t pid, double t) {
    auto r = store::run_query(db,
                              "SELECT parent_pid, parent_image, link_method, orphan_reason, parent_key, link_candidates, "
                              "(SELECT p.start_time FROM processes p WHERE p.process_key = parent_key) "
                              "FROM process_tree WHERE host = ?1 AND pid = ?2 AND start_ft = ?3",
                              {host, pid, SyntheticLog::at(t)});
    REQUIRE(r.ok());
    REQUIRE(r->rows.size() == 1);
    return r->rows[0];
  }
};

std::string str(const Cell& c) { return std::holds_alternative<std::string>(c) ? std::get<std::string>(c) : ""; }
int64_t num(const Cell& c) { return std::holds_alternative<int64_t>(c) ? std::get<int64_t>(c) : -1; }

const std::string kCmd = "C:\\Windows\\System32\\cmd.exe";
const std::string kServices = "C:\\Windows\\System32\\services.exe";
const std::string kLsass = "C:\\Windows\\System32\\lsass.exe";

}  // namespace

TEST_CASE("A reused PID links to the process that held it at the time", "[graph][reuse]") {
  Case c;
  SyntheticLog log("WIN01.corp.local");
  log.boot(0);
  log.process(1, 100, 4, kCmd, "");
  log.process(2, 200, 100, "C:\\Windows\\System32\\whoami.exe", kCmd);
  log.exit(3, 100, kCmd);
  log.process(4, 100, 4, kCmd, "");  // PID 100 again
  log.process(5, 300, 100, "C:\\Windows\\System32\\net.exe", kCmd);
  log.process(6, 400, 4, "C:\\Windows\\explorer.exe", "");
  log.exit(7, 400, "C:\\Windows\\explorer.exe");
  // PID 400 now belongs to a process that was never logged: neither child is explorer's.
  log.process(8, 500, 400, "C:\\Windows\\System32\\svchost.exe", kServices);
  log.process(9, 600, 400, "C:\\Windows\\System32\\calc.exe", "", 0x3e7, "", /*v0=*/true);
  c.add(log, "reuse");
  c.build();

  auto whoami = c.link("win01", 200, 2);
  CHECK(num(whoami[6]) == SyntheticLog::at(1));
  CHECK(str(whoami[2]) == "pid_time_name");
  auto net = c.link("win01", 300, 5);
  CHECK(num(net[6]) == SyntheticLog::at(4));
  // Name mismatch and an exited candidate: a placeholder, not explorer.
  auto svchost = c.link("win01", 500, 8);
  CHECK(str(svchost[2]) == "placeholder");
  CHECK(str(svchost[1]) == kServices);
  CHECK(str(svchost[3]) == "parent_not_logged");
  auto calc = c.link("win01", 600, 9);
  CHECK(str(calc[2]) == "placeholder");
}

TEST_CASE("Orphan reasons: boot between, log cleared, before the first record, late auditing", "[graph][orphans]") {
  Case c;
  SyntheticLog a("WIN01");
  a.process(10, 400, 4, kLsass, "");
  a.boot(20);
  a.process(21, 404, 400, "C:\\Windows\\System32\\cmd.exe", kLsass);
  a.clear(30);
  a.process(31, 408, 500, "C:\\Windows\\System32\\cmd.exe", "C:\\Windows\\System32\\wsmprovhost.exe");
  c.add(a, "a");
  SyntheticLog b("WIN02");
  b.process(0, 700, 600, "C:\\Windows\\System32\\cmd.exe", "C:\\Windows\\explorer.exe");
  c.add(b, "b");
  SyntheticLog d("WIN03");
  d.boot(0);
  d.logon(1, 0x5555, 2, "alice", "-");
  d.process(300, 800, 700, "C:\\Windows\\System32\\cmd.exe", "C:\\Windows\\explorer.exe", 0x5555);
  c.add(d, "d");
  auto stats = c.build();

  CHECK(str(c.link("win01", 404, 21)[3]) == "boot_between");
  CHECK(str(c.link("win01", 408, 31)[3]) == "log_cleared");
  CHECK(str(c.link("win02", 700, 0)[3]) == "before_first_record");
  CHECK(str(c.link("win03", 800, 300)[3]) == "no_process_auditing");
  // lsass itself predates the log: its parent (PID 4) is a placeholder too.
  CHECK(str(c.link("win01", 400, 10)[3]) == "before_first_record");
  CHECK(stats.orphans_by_reason["boot_between"] == 1);
  CHECK(stats.placeholders >= 4);
}

TEST_CASE("Logon pivot: type, source IP, 4672, split token, logoff, well-known sessions", "[graph][logon]") {
  Case c;
  SyntheticLog log("WS7");
  log.boot(0);
  log.logon(1, 0x9999, 10, "alice", "203.0.113.5", 0x9998, "%%1843");
  log.logon(1, 0x9998, 10, "alice", "203.0.113.5", 0x9999, "%%1842");
  log.special(1, 0x9998);
  log.process(2, 1000, 4, "C:\\Windows\\explorer.exe", "", 0x9999);
  log.process(3, 1004, 1000, kCmd, "C:\\Windows\\explorer.exe", 0x9999, "cmd /c whoami", false, 0x9998);
  log.process(4, 1008, 4, kServices, "", 0x3e7);
  log.logoff(50, 0x9999);
  c.add(log, "logon");
  c.build();
  auto r = store::run_query(c.db,
                            "SELECT t.pid, s.logon_type, s.ip_address, s.special_privileges, s.linked_session_key, "
                            "s.end_time, s.kind, s.user_name FROM process_tree t JOIN logon_sessions s USING (session_key) "
                            "ORDER BY t.pid");
  REQUIRE(r.ok());
  REQUIRE(r->rows.size() == 3);
  const auto& explorer = r->rows[0];
  CHECK(num(explorer[1]) == 10);
  CHECK(str(explorer[2]) == "203.0.113.5");
  CHECK(num(explorer[3]) == 0);
  CHECK_THAT(str(explorer[4]), Catch::Contains("0x9998"));
  CHECK_FALSE(str(explorer[5]).empty());  // ended by the 4634
  // cmd runs in the elevated half (TargetLogonId 0x9998), which had special privileges.
  const auto& cmd = r->rows[1];
  CHECK(num(cmd[3]) == 1);
  CHECK_THAT(str(cmd[4]), Catch::Contains("0x9999"));
  const auto& services = r->rows[2];
  CHECK(str(services[6]) == "well_known");
  CHECK(str(services[7]) == "NT AUTHORITY\\SYSTEM");
}

TEST_CASE("4688 and Sysmon 1 of one process merge and Sysmon links by ProcessGuid", "[graph][sysmon]") {
  Case c;
  SyntheticLog log("WS8");
  log.boot(0);
  log.process(1, 800, 4, "C:\\Tools\\update.exe", "");
  log.sysmon(1.2, 800, "C:\\Tools\\update.exe", "{AAAA}", 4, "System", "{0000}", "psexec.c");
  log.sysmon(2, 900, kCmd, "{BBBB}", 800, "C:\\Tools\\update.exe", "{AAAA}");
  c.add(log, "sysmon");
  auto stats = c.build();
  CHECK(stats.merged == 1);
  auto r = store::run_query(c.db, "SELECT pid, source, original_file_name, link_method, parent_pid FROM process_tree "
                                  "WHERE source <> 'placeholder' ORDER BY pid");
  REQUIRE(r.ok());
  REQUIRE(r->rows.size() == 2);
  CHECK(str(r->rows[0][1]) == "both");
  CHECK(str(r->rows[0][2]) == "psexec.c");
  CHECK(str(r->rows[1][1]) == "sysmon");
  CHECK(str(r->rows[1][3]) == "sysmon_guid");
  CHECK(num(r->rows[1][4]) == 800);
}

TEST_CASE("Two records of one process, not side by side, get distinct keys", "[graph][keys]") {
  // A re-exported log can hold the same 4688 twice under other record ids, and other processes
  // logged in the same instant can sort between the copies.
  Case c;
  SyntheticLog log("WS9");
  log.boot(0);
  log.process(1, 100, 4, kCmd, "");
  log.process(1, 200, 4, kCmd, "");
  log.process(1, 100, 4, kCmd, "");
  c.add(log, "dupes");
  auto stats = c.build();
  CHECK(stats.processes == 3);
  auto r = store::run_query(c.db, "SELECT process_key FROM processes WHERE pid = 100 ORDER BY create_event_pk");
  REQUIRE(r.ok());
  REQUIRE(r->rows.size() == 2);
  CHECK(str(r->rows[0][0]).find('#') == std::string::npos);
  CHECK_THAT(str(r->rows[1][0]), Catch::Contains("#"));
}

TEST_CASE("ProcessGraph keeps link order, walks both ways and rejects cycles and second parents", "[graph][boost]") {
  graph::ProcessGraph g(6);
  g.add_link(2, 5);
  g.add_link(0, 3);
  g.add_link(2, 1);
  g.add_link(0, 2);
  CHECK(g.children(2) == std::vector<size_t>{5, 1});
  CHECK(g.children(0) == std::vector<size_t>{3, 2});
  CHECK(g.parent(1) == std::optional<size_t>(2));
  CHECK_FALSE(g.parent(0).has_value());
  CHECK(g.ancestors(5) == std::vector<size_t>{2, 0});
  CHECK(g.descendants(0) == std::vector<size_t>{3, 2, 5, 1});
  CHECK(g.is_forest());
  // Links added after a walk are seen by the next one.
  g.add_link(4, 0);
  CHECK(g.ancestors(5) == std::vector<size_t>{2, 0, 4});
  CHECK(g.is_forest());
  graph::ProcessGraph two_parents = g;
  two_parents.add_link(3, 5);
  CHECK_FALSE(two_parents.is_forest());
  graph::ProcessGraph cycle(3);
  cycle.add_link(0, 1);
  cycle.add_link(1, 2);
  cycle.add_link(2, 0);
  CHECK_FALSE(cycle.is_forest());
  CHECK_THROWS_AS(cycle.add_link(0, 3), std::out_of_range);
}

TEST_CASE("A small tree renders as the golden file says", "[graph][golden]") {
  Case c;
  SyntheticLog log("WIN01.corp.local");
  log.boot(0);
  log.logon(0.5, 0x9999, 10, "alice", "203.0.113.5");
  log.process(1, 1000, 4, "C:\\Windows\\explorer.exe", "", 0x9999, "C:\\Windows\\Explorer.EXE");
  log.process(2, 1004, 1000, kCmd, "C:\\Windows\\explorer.exe", 0x9999, "cmd.exe /c C:\\Users\\alice\\hgl_run.cmd");
  log.process(3, 1008, 1004, "C:\\Users\\alice\\hgl_loader.exe", kCmd, 0x9999, "hgl_loader.exe hgl_payload");
  log.process(4, 1012, 1004, "C:\\Windows\\System32\\conhost.exe", kCmd, 0x9999, "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff");
  log.process(5, 1016, 1000, "C:\\Windows\\System32\\notepad.exe", "", 0x9999, "notepad.exe", true);
  c.add(log, "golden");
  c.build();
  std::ostringstream out;
  auto shown = report::write_tree(out, c.db, {}, report::Format::kTable);
  REQUIRE(shown.ok());
  CHECK(*shown == 6);
  const std::string golden_path = std::string(TREELINE_SOURCE_DIR) + "/tests/golden/tree_small.txt";
  // TREELINE_UPDATE_GOLDEN=1 rewrites the golden file from this run; review the diff before committing.
  if (std::getenv("TREELINE_UPDATE_GOLDEN")) std::ofstream(golden_path) << out.str();
  std::ifstream golden(golden_path);
  REQUIRE(golden.good());
  std::stringstream want;
  want << golden.rdbuf();
  CHECK(out.str() == want.str());

  // --process with --ancestors shows the chain up from the loader only.
  report::TreeOptions o;
  o.process_key = fmt::format("win01:1008:{}", SyntheticLog::at(3));
  o.ancestors_only = true;
  std::ostringstream anc;
  REQUIRE(report::write_tree(anc, c.db, o, report::Format::kTable).ok());
  CHECK_THAT(anc.str(), Catch::Contains("hgl_loader.exe") && Catch::Contains("explorer.exe"));
  CHECK_THAT(anc.str(), !Catch::Contains("conhost.exe") && !Catch::Contains("notepad.exe"));
}

// A PID-reuse stress: 20,000 processes from 64 PIDs, a reboot in the middle, 4689 logged only in
// the first half, and parent names that collide. The simulator knows every true parent.
TEST_CASE("PID-reuse stress: precision and recall against the truth, and the naive join", "[graph][stress]") {
  Case c;
  SyntheticLog log("STRESS01");
  std::mt19937 rng(20241123);
  const std::vector<std::string> images = {kCmd, "C:\\Windows\\System32\\conhost.exe",
                                           "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                                           "C:\\Windows\\System32\\svchost.exe"};
  struct Sim { int64_t pid; double start; std::string image; int parent; };
  std::vector<Sim> procs;
  std::vector<int> live;
  std::map<int64_t, int64_t> ghosts;  // child start -> the unlogged parent's PID
  const std::string kGhostImage = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe";
  double t = 0;
  const int kTotal = 20000;
  log.boot(0);
  for (int boot = 0; boot < 2; ++boot) {
    live.clear();
    bool log_exits = boot == 0;
    std::vector<bool> used(64, false);
    auto spawn = [&](int parent) {
      std::vector<int> free;
      for (int i = 0; i < 64; ++i)
        if (!used[i]) free.push_back(i);
      if (free.empty()) return;
      int slot = free[rng() % free.size()];
      used[slot] = true;
      Sim s{(slot + 1) * 4 + 1000, t, images[rng() % images.size()], parent};
      std::string parent_image = parent >= 0 ? procs[parent].image : "";
      int64_t ppid = parent >= 0 ? procs[parent].pid : 4;
      log.process(t, s.pid, ppid, s.image, parent_image);
      procs.push_back(s);
      live.push_back(static_cast<int>(procs.size()) - 1);
    };
    for (int i = 0; i < 4; ++i) spawn(-1);  // roots whose parent (System) is not logged
    while (static_cast<int>(procs.size()) < kTotal * (boot + 1) / 2) {
      t += 0.01;
      if (rng() % 100 == 0) {
        // A parent that was never logged (its 4688 lost), with a PID that logged processes held
        // before: the naive join links its children to one of those.
        std::vector<int> free;
        for (int i = 0; i < 64; ++i)
          if (!used[i]) free.push_back(i);
        if (free.empty()) continue;
        int64_t ghost_pid = (free[rng() % free.size()] + 1) * 4 + 1000;
        for (int k = 0; k < 2; ++k) {
          t += 0.01;
          spawn(-1);
          Sim& child = procs.back();
          ghosts[SyntheticLog::at(child.start)] = ghost_pid;
          log.retarget_last_parent(ghost_pid, kGhostImage);
        }
        continue;
      }
      if (live.size() > 40 || (live.size() > 4 && rng() % 3 == 0)) {
        size_t k = 4 + rng() % (live.size() - 4);  // roots stay alive
        int victim = live[k];
        live.erase(live.begin() + static_cast<long>(k));
        used[(procs[victim].pid - 1000) / 4 - 1] = false;
        if (log_exits) log.exit(t, procs[victim].pid, procs[victim].image);
      } else {
        spawn(live[rng() % live.size()]);
      }
    }
    t += 100;
    if (boot == 0) log.boot(t);
  }
  c.add(log, "stress");
  c.build();

  // Our links, and the naive join: the latest process with that PID started at or before.
  auto ours = store::run_query(c.db, "SELECT start_ft, pid, (SELECT p.start_time FROM processes p WHERE p.process_key = parent_key), "
                                     "link_method FROM process_tree WHERE source <> 'placeholder'");
  REQUIRE(ours.ok());
  std::map<int64_t, const Sim*> by_start;
  for (const auto& s : procs) by_start[SyntheticLog::at(s.start)] = &s;
  REQUIRE(ours->rows.size() == procs.size());
  std::map<int64_t, std::vector<int64_t>> starts_by_pid;
  for (const auto& s : procs) starts_by_pid[s.pid].push_back(SyntheticLog::at(s.start));
  int linked = 0, right = 0, in_log = 0, found = 0, naive_linked = 0, naive_right = 0;
  for (const auto& row : ours->rows) {
    const Sim* s = by_start.at(num(row[0]));
    int64_t truth = s->parent >= 0 ? SyntheticLog::at(procs[s->parent].start) : -1;
    bool placeholder = str(row[3]) == "placeholder";
    if (!placeholder) {
      ++linked;
      right += num(row[2]) == truth;
    }
    if (truth >= 0) {
      ++in_log;
      found += !placeholder && num(row[2]) == truth;
    }
    int64_t ppid = s->parent >= 0 ? procs[s->parent].pid : 4;
    if (auto g = ghosts.find(num(row[0])); g != ghosts.end()) ppid = g->second;
    int64_t naive = -1;
    for (int64_t st : starts_by_pid[ppid])
      if (st <= SyntheticLog::at(s->start) && st != SyntheticLog::at(s->start)) naive = std::max(naive, st);
    if (naive >= 0) {
      ++naive_linked;
      naive_right += naive == truth;
    }
  }
  double precision = 100.0 * right / linked, recall = 100.0 * found / in_log;
  double naive_precision = 100.0 * naive_right / naive_linked;
  WARN(fmt::format("PID-reuse stress ({} processes, 64 PIDs): treeline precision {:.3f}% ({}/{}), recall {:.3f}% ({}/{}); "
                   "naive join precision {:.3f}% ({}/{})",
                   procs.size(), precision, right, linked, recall, found, in_log, naive_precision, naive_right, naive_linked));
  CHECK(precision >= 99.9);
  CHECK(recall >= 99.0);
  CHECK(precision > naive_precision);
}

TEST_CASE("A service's ImagePath names the executable its process runs", "[graph][story]") {
  using treeline::graph::service_executable;
  CHECK(service_executable("\"C:\\Program Files\\Vendor\\Up.exe\" /svc") == "c:\\program files\\vendor\\up.exe");
  CHECK(service_executable("%SystemRoot%\\System32\\svchost.exe -k netsvcs") == "c:\\windows\\system32\\svchost.exe");
  CHECK(service_executable("\\SystemRoot\\System32\\drivers\\netkvm.sys") == "c:\\windows\\system32\\drivers\\netkvm.sys");
  CHECK(service_executable("system32\\DRIVERS\\x.sys") == "c:\\windows\\system32\\drivers\\x.sys");
  CHECK(service_executable("\\??\\C:\\Temp\\a.exe") == "c:\\temp\\a.exe");
  CHECK(service_executable("%COMSPEC% /Q /c echo x") == "%comspec%");
}
