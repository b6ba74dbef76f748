#include "report/timeline_query.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <string_view>

#include "core/event_catalog.hpp"
#include "report/summary.hpp"

namespace treeline::report::timeline_detail {
namespace {

// An event's process and parent are one integer lookup each, through event_processes (the graph
// builder writes it). Events scan in time order from events_by_time; ties on one instant are
// ordered here, not by SQLite's sorter, which would copy every wide row through a temporary
// B-tree. Only the filters asked for are in the WHERE clause. Large timelines are read in time
// slices by several threads (write_parallel) and written in order.
constexpr const char* kSelect = R"sql(
SELECT e.time, e.host_id, e.event_id, e.channel_id, e.record_id, e.source_id,
       p.process_key, p.pid, p.image, pp.process_key, pp.pid, pp.image, p.command_line,
       coalesce(p.user_domain || '\' || p.user_name, p.user_name, l.target_domain_name || '\' || l.target_user_name,
                lo.target_domain_name || '\' || lo.target_user_name),
       coalesce(p.logon_id, l.target_logon_id, lo.target_logon_id),
       coalesce(ep.logon_type, l.logon_type, lo.logon_type),
       coalesce(ep.ip_address, l.ip_address), e.event_pk, d.data
FROM events e
LEFT JOIN event_processes ep ON e.event_id IN ({process_ids}) AND ep.event_pk = e.event_pk
LEFT JOIN processes p ON p.process_id = ep.process_id
LEFT JOIN processes pp ON pp.process_id = ep.parent_id
LEFT JOIN sec_logon l ON e.event_id IN ({logon_ids}) AND l.event_pk = e.event_pk
LEFT JOIN sec_logoff lo ON e.event_id IN ({logoff_ids}) AND lo.event_pk = e.event_pk
LEFT JOIN event_data d ON e.event_id IN ({summary_ids}) AND d.event_pk = e.event_pk
)sql";

// The subtree of --process, as a recursive CTE over the links.
constexpr const char* kSubtree =
    "WITH RECURSIVE sub(k) AS (SELECT ?5 UNION SELECT x.child_key FROM process_edges x JOIN sub ON x.parent_key = sub.k)\n";

// The event ids whose events can have a row in these typed tables, from the catalog that decides
// which table an event's row goes to: the joins skip the lookup for every other event.
std::string ids_of_tables(std::initializer_list<std::string_view> tables) {
  std::set<uint32_t> ids;
  for (const EventSpec& spec : event_catalog())
    if (std::find(tables.begin(), tables.end(), spec.table) != tables.end()) ids.insert(spec.event_id);
  std::string out;
  for (uint32_t id : ids) out += (out.empty() ? "" : ", ") + std::to_string(id);
  return out.empty() ? "NULL" : out;
}

// The event ids with a summary template: only their events read event_data.
std::string summary_ids() {
  std::string out;
  for (uint32_t id : summary_event_ids()) out += (out.empty() ? "" : ", ") + std::to_string(id);
  return out.empty() ? "NULL" : out;
}

}  // namespace

std::string timeline_sql(const TimelineOptions& o, bool one_instant, bool slice_lo, bool slice_hi) {
  // event_processes holds the events the graph builder reads processes from: these tables'.
  static const std::string kSql = fmt::format(
      fmt::runtime(kSelect), fmt::arg("process_ids", ids_of_tables({"sec_process_create", "sec_process_exit", "sysmon_process"})),
      fmt::arg("logon_ids", ids_of_tables({"sec_logon"})), fmt::arg("logoff_ids", ids_of_tables({"sec_logoff"})),
      fmt::arg("summary_ids", summary_ids()));
  std::string sql = kSql;
  if (!o.process_key.empty()) sql.insert(0, kSubtree);
  std::vector<std::string> where;
  if (!o.host.empty()) where.push_back("e.host_id = (SELECT host_id FROM hosts WHERE short_name = ?1)");
  if (one_instant) {
    where.push_back("e.time = ?6");
  } else {
    if (o.from) where.push_back("e.time >= ?2");
    if (o.to) where.push_back("e.time <= ?3");
    if (slice_lo) where.push_back("e.time >= ?7");
    if (slice_hi) where.push_back("e.time < ?8");
  }
  if (o.logon_id) where.push_back("coalesce(p.logon_id, l.target_logon_id, lo.target_logon_id) = ?4");
  if (!o.process_key.empty()) where.push_back("p.process_key IN sub");
  if (o.event_id) where.push_back("e.event_id = ?9");
  if (!o.channel.empty()) where.push_back("e.channel_id = (SELECT channel_id FROM channels WHERE name = ?10 COLLATE NOCASE)");
  for (size_t i = 0; i < where.size(); ++i) sql += (i ? " AND " : "WHERE ") + where[i];
  sql += one_instant ? "\nORDER BY (SELECT short_name FROM hosts WHERE host_id = e.host_id), "
                       "(SELECT name FROM channels WHERE channel_id = e.channel_id), e.record_id, e.event_pk"
                     : "\nORDER BY e.time";
  return sql;
}

Expected<Names> Names::load(store::Db& db) {
  Names n;
  for (auto [sql, map] : {std::pair{"SELECT host_id, short_name FROM hosts", &n.hosts},
                          std::pair{"SELECT channel_id, name FROM channels", &n.channels},
                          std::pair{"SELECT source_id, path FROM sources", &n.sources}}) {
    auto st = db.prepare(sql);
    if (!st) return st.error();
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) (*map)[st->column_int(0)] = st->column_text(1);
    if (rc != SQLITE_DONE) return db.error("reading the case's names");
  }
  auto st = db.prepare(
      "SELECT DISTINCT process_key, rule_id FROM findings WHERE kind = 'detection' AND process_key IS NOT NULL "
      "ORDER BY 1, 2");
  if (!st) return st.error();
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    std::string& rules = n.rules[st->column_text(0)];
    rules += (rules.empty() ? "" : ";") + st->column_text(1);
  }
  if (rc != SQLITE_DONE) return db.error("reading the findings");
  return n;
}

const std::string& Names::of(const std::unordered_map<int64_t, std::string>& map, int64_t id) {
  static const std::string kNone;
  auto it = map.find(id);
  return it == map.end() ? kNone : it->second;
}

}  // namespace treeline::report::timeline_detail
