#include "report/timeline.hpp"

#include <fmt/format.h>

#include "core/event_catalog.hpp"
#include "core/text.hpp"
#include "store/query.hpp"
#include "core/time.hpp"
#include "graph/state.hpp"

namespace treeline::report {
namespace {

// The process of an event is the one it created (4688, Sysmon 1) or ended (4689, Sysmon 5);
// each is one lookup in an index of schema/0007. Events scan in time order from events_by_time,
// so only ties on the same instant are sorted. Every filter is in the WHERE clause, and the
// subtree of --process is a recursive CTE.
constexpr const char* kSql = R"sql(
WITH RECURSIVE sub(k) AS (
  SELECT ?5 WHERE ?5 <> ''
  UNION SELECT e.child_key FROM process_edges e JOIN sub ON e.parent_key = sub.k)
SELECT e.time, h.short_name, e.event_id, c.name, e.record_id, s.path,
       p.process_key, p.pid, p.image, pe.parent_key, pp.pid, pp.image, p.command_line,
       coalesce(p.user_domain || '\' || p.user_name, p.user_name, l.target_domain_name || '\' || l.target_user_name,
                lo.target_domain_name || '\' || lo.target_user_name),
       coalesce(p.logon_id, l.target_logon_id, lo.target_logon_id) AS logon,
       coalesce(ss.logon_type, l.logon_type, lo.logon_type),
       coalesce(ss.ip_address, l.ip_address),
       CASE WHEN p.process_key IS NOT NULL THEN
         (SELECT group_concat(rule_id, ';') FROM (SELECT DISTINCT f.rule_id FROM findings f
            WHERE f.process_key = p.process_key AND f.kind = 'detection' ORDER BY f.rule_id)) END
FROM events e
JOIN hosts h ON h.host_id = e.host_id
JOIN channels c ON c.channel_id = e.channel_id
JOIN sources s ON s.source_id = e.source_id
LEFT JOIN processes p ON e.event_id IN (4688, 4689, 1, 5) AND p.process_key = coalesce(
    (SELECT process_key FROM processes WHERE create_event_pk = e.event_pk),
    (SELECT process_key FROM processes WHERE sysmon_event_pk = e.event_pk),
    (SELECT process_key FROM processes WHERE exit_event_pk = e.event_pk))
LEFT JOIN process_edges pe ON pe.child_key = p.process_key
LEFT JOIN processes pp ON pp.process_key = pe.parent_key
LEFT JOIN sessions ss ON ss.session_key = p.session_key
LEFT JOIN sec_logon l ON l.event_pk = e.event_pk
LEFT JOIN sec_logoff lo ON lo.event_pk = e.event_pk
WHERE (?1 = '' OR h.short_name = ?1)
  AND (?2 IS NULL OR e.time >= ?2)
  AND (?3 IS NULL OR e.time <= ?3)
  AND (?4 IS NULL OR logon = ?4)
  AND (?5 = '' OR p.process_key IN sub)
ORDER BY e.time, h.short_name, c.name, e.record_id, e.event_pk
)sql";


}  // namespace

Expected<size_t> write_timeline(std::ostream& out, store::Db& db, const TimelineOptions& o, Format format,
                                const TableStyle& style) {
  if (auto s = graph::require_current_graph(db); !s) return s.error();
  if (!o.process_key.empty()) {
    auto exists = db.prepare("SELECT 1 FROM processes WHERE process_key = ?1");
    if (!exists) return exists.error();
    exists->bind(1, std::string_view(o.process_key));
    if (exists->step() != SQLITE_ROW) return Error{ErrorCode::kUsage, fmt::format("no process {} in the case", o.process_key)};
  }
  auto st = db.prepare(kSql);
  if (!st) return st.error();
  std::string host = host_short_name(o.host);
  st->bind(1, std::string_view(host));
  if (o.from) st->bind(2, *o.from); else st->bind_null(2);
  if (o.to) st->bind(3, *o.to); else st->bind_null(3);
  if (o.logon_id) st->bind(4, *o.logon_id); else st->bind_null(4);
  st->bind(5, std::string_view(o.process_key));

  RowWriter w(out, {"time_utc", "host", "event_id", "action", "channel", "process_key", "pid", "image", "parent_key",
                    "parent_pid", "parent_image", "command_line", "user", "logon_id", "logon_type", "source_ip",
                    "findings", "source_file", "record_id"},
              format, style);
  std::vector<Cell> row(19);
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    std::string channel = st->column_text(3);
    auto event_id = st->column_int(2);
    const EventSpec* spec = find_event_spec(channel, static_cast<uint32_t>(event_id));
    row[0] = filetime_to_iso(st->column_int(0));
    row[1] = st->column_text(1);
    row[2] = event_id;
    row[3] = spec ? Cell{std::string(spec->action)} : Cell{};
    row[4] = std::move(channel);
    for (int i = 6; i <= 12; ++i) row[static_cast<size_t>(i - 1)] = store::column_cell(*st, i);
    row[12] = store::column_cell(*st, 13);
    row[13] = st->column_is_null(14) ? Cell{} : Cell{fmt::format("0x{:x}", st->column_int(14))};
    row[14] = store::column_cell(*st, 15);
    row[15] = store::column_cell(*st, 16);
    row[16] = store::column_cell(*st, 17);
    row[17] = st->column_text(5);
    row[18] = st->column_int(4);
    w.row(row);
  }
  if (rc != SQLITE_DONE) return db.error("reading the timeline");
  w.finish();
  return w.rows();
}

}  // namespace treeline::report
