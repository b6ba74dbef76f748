// Parent links on real logs, against the truth Sysmon records for the same processes.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "graph/builder.hpp"
#include "ingest/ingester.hpp"
#include "store/case_db.hpp"
#include "store/query.hpp"
#include "support.hpp"

using namespace treeline;

namespace {

constexpr int64_t kMatch = 5 * 10'000'000LL;

struct Proc {
  std::string key, image;
  int64_t pid, start;
  std::string parent_key;  // ours
  std::string method;
};

store::Db ingest_case(const test::TempDir& dir, const std::string& name, const std::string& path) {
  auto db = store::open_case_for_write(dir.file(name));
  REQUIRE(db.ok());
  ingest::Ingester ing(*db);
  REQUIRE(ing.run({path}, nullptr).ok());
  REQUIRE(graph::build_graph(*db).ok());
  return std::move(db.value());
}

void check_folder(const std::string& folder) {
  test::TempDir dir;
  auto logs = test::shared_data() / "capattack" / folder / "logs";
  store::Db sec = ingest_case(dir, "security.db", (logs / "Security.evtx").string());
  store::Db sys = ingest_case(dir, "sysmon.db", (logs / "Microsoft-Windows-Sysmon%4Operational.evtx").string());

  auto ours = store::run_query(sec, "SELECT process_key, lower(image), pid, start_ft, parent_key, link_method "
                                    "FROM process_tree WHERE source = '4688' ORDER BY start_ft");
  REQUIRE(ours.ok());
  std::vector<Proc> procs;
  for (const auto& r : ours->rows)
    procs.push_back({std::get<std::string>(r[0]), std::get<std::string>(r[1]), std::get<int64_t>(r[2]),
                     std::get<int64_t>(r[3]), std::holds_alternative<std::string>(r[4]) ? std::get<std::string>(r[4]) : "",
                     std::holds_alternative<std::string>(r[5]) ? std::get<std::string>(r[5]) : ""});
  auto truth = store::run_query(sys, "SELECT lower(process_guid), pid, lower(image), time_ft, lower(parent_process_guid), "
                                     "parent_pid, lower(parent_image) FROM sysmon_processes WHERE event_id = 1");
  REQUIRE(truth.ok());
  // Sysmon process -> the 4688 process it is (same PID and image, a few seconds apart).
  auto find = [&](int64_t pid, const std::string& image, int64_t t) -> const Proc* {
    for (const auto& p : procs)
      if (p.pid == pid && p.image == image && std::llabs(p.start - t) <= kMatch) return &p;
    return nullptr;
  };
  std::map<std::string, const Proc*> by_guid;
  for (const auto& r : truth->rows)
    by_guid[std::get<std::string>(r[0])] = find(std::get<int64_t>(r[1]), std::get<std::string>(r[2]), std::get<int64_t>(r[3]));
  // A parent Sysmon did not record (its config filtered it, or it predates the Sysmon log) is
  // still named by the child's ParentProcessId and ParentImage: it is the truth when exactly
  // one 4688 process with that PID and image started before the child.
  int ambiguous = 0;
  for (const auto& r : truth->rows) {
    const std::string& parent_guid = std::get<std::string>(r[4]);
    if (by_guid.count(parent_guid) || !std::holds_alternative<int64_t>(r[5])) continue;
    const Proc* child = by_guid[std::get<std::string>(r[0])];
    if (!child) continue;
    std::vector<const Proc*> named;
    for (const auto& p : procs)
      if (p.pid == std::get<int64_t>(r[5]) && p.image == std::get<std::string>(r[6]) && p.start <= child->start &&
          p.key != child->key)
        named.push_back(&p);
    if (named.size() == 1) by_guid[parent_guid] = named[0];
    else if (named.size() > 1) ++ambiguous;
  }

  int judged = 0, linked = 0, right = 0, parent_in_log = 0, found = 0, naive_linked = 0, naive_right = 0;
  for (const auto& r : truth->rows) {
    const Proc* child = by_guid[std::get<std::string>(r[0])];
    if (!child) continue;  // Sysmon saw a process the Security log did not
    ++judged;
    auto pg = by_guid.find(std::get<std::string>(r[4]));
    const Proc* true_parent = pg == by_guid.end() ? nullptr : pg->second;
    bool is_linked = child->method != "placeholder" && !child->parent_key.empty();
    if (is_linked) {
      ++linked;
      right += true_parent && child->parent_key == true_parent->key;
      if (!(true_parent && child->parent_key == true_parent->key))
        WARN("wrong link: " << child->key << " " << child->image << " -> " << child->parent_key);
    }
    if (true_parent) {
      ++parent_in_log;
      found += is_linked && child->parent_key == true_parent->key;
    }
  }
  // The naive join: the latest 4688 whose NewProcessId is the child's creator PID.
  auto naive = store::run_query(sec,
                                "SELECT c.pid, c.start_ft, (SELECT p.process_key FROM process_tree p WHERE p.source = '4688' "
                                "AND p.pid = pc.parent_pid AND p.start_ft <= c.start_ft AND p.process_key <> c.process_key "
                                "ORDER BY p.start_ft DESC LIMIT 1) FROM process_tree c JOIN process_creations pc "
                                "ON pc.event_pk = c.create_event_pk");
  REQUIRE(naive.ok());
  std::map<std::string, std::string> truth_parent;  // child key -> true parent key
  for (const auto& r : truth->rows) {
    const Proc* child = by_guid[std::get<std::string>(r[0])];
    auto pg = by_guid.find(std::get<std::string>(r[4]));
    if (child) truth_parent[child->key] = (pg != by_guid.end() && pg->second) ? pg->second->key : "";
  }
  for (const auto& r : naive->rows) {
    if (!std::holds_alternative<std::string>(r[2])) continue;
    std::string child_key;
    for (const auto& p : procs)
      if (p.pid == std::get<int64_t>(r[0]) && p.start == std::get<int64_t>(r[1])) child_key = p.key;
    auto t = truth_parent.find(child_key);
    if (t == truth_parent.end()) continue;
    ++naive_linked;
    naive_right += t->second == std::get<std::string>(r[2]);
  }
  WARN(fmt::format("{}: {} 4688 processes with Sysmon truth ({} ambiguous); treeline precision {}/{} recall {}/{}; "
                   "naive join precision {}/{}",
                   folder, judged, ambiguous, right, linked, found, parent_in_log, naive_right, naive_linked));
  CHECK(judged >= 15);
  CHECK(ambiguous == 0);
  CHECK(right == linked);  // 100% precision on real folders
  CHECK(found >= parent_in_log * 99 / 100);
}

}  // namespace

TEST_CASE("capattack procdump: 4688 parent links agree with Sysmon's ProcessGuid truth", "[real][graph]") {
  check_folder("procdump_t1003.001_capattack");
}

TEST_CASE("capattack hh.exe: 4688 parent links agree with Sysmon's ProcessGuid truth", "[real][graph]") {
  check_folder("hh_decompile_t1218.001_capattack");
}
