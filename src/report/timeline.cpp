#include "report/timeline.hpp"

#include <fmt/format.h>

#include <unordered_set>

#include "core/event_catalog.hpp"
#include "core/text.hpp"
#include "store/query.hpp"

namespace treeline::report {
namespace {

// A process's event: its creation (4688 or Sysmon 1) or its exit (4689 or Sysmon 5).
constexpr const char* kSql = R"sql(
SELECT v.time_utc, v.host_short, v.event_id, v.channel, v.record_id, v.source_path,
       p.process_key, p.pid, p.image, pe.parent_key, pp.pid, pp.image, p.command_line,
       coalesce(p.user_domain || '\' || p.user_name, p.user_name, l.target_domain_name || '\' || l.target_user_name,
                lo.target_domain_name || '\' || lo.target_user_name),
       coalesce(p.logon_id, l.target_logon_id, lo.target_logon_id),
       coalesce(s.logon_type, l.logon_type, lo.logon_type),
       coalesce(s.ip_address, l.ip_address),
       (SELECT group_concat(rule_id, ';') FROM (SELECT DISTINCT f.rule_id FROM findings f
          WHERE f.process_key = p.process_key AND f.kind = 'detection' ORDER BY f.rule_id)),
       v.time_ft, v.event_pk
FROM events_v v
LEFT JOIN processes p ON p.process_key = coalesce(
    (SELECT process_key FROM processes WHERE create_event_pk = v.event_pk),
    (SELECT process_key FROM processes WHERE sysmon_event_pk = v.event_pk),
    (SELECT process_key FROM processes WHERE exit_event_pk = v.event_pk))
LEFT JOIN process_edges pe ON pe.child_key = p.process_key
LEFT JOIN processes pp ON pp.process_key = pe.parent_key
LEFT JOIN sessions s ON s.session_key = p.session_key
LEFT JOIN sec_logon l ON l.event_pk = v.event_pk
LEFT JOIN sec_logoff lo ON lo.event_pk = v.event_pk
WHERE (?1 = '' OR v.host_short = ?1)
  AND (?2 IS NULL OR v.time_ft >= ?2)
  AND (?3 IS NULL OR v.time_ft <= ?3)
ORDER BY v.time_ft, v.host_short, v.channel, v.record_id, v.event_pk
)sql";

}  // namespace

Expected<Table> build_timeline(store::Db& db, const TimelineOptions& o) {
  std::unordered_set<std::string> subtree;
  if (!o.process_key.empty()) {
    auto kids = store::run_query(db, R"sql(
      WITH RECURSIVE sub(k) AS (SELECT ?1 UNION SELECT e.child_key FROM process_edges e JOIN sub ON e.parent_key = sub.k)
      SELECT k FROM sub)sql", {o.process_key});
    if (!kids) return kids.error();
    for (const auto& r : kids->rows) subtree.insert(std::get<std::string>(r[0]));
    auto exists = store::run_query(db, "SELECT 1 FROM processes WHERE process_key = ?1", {o.process_key});
    if (!exists) return exists.error();
    if (exists->rows.empty()) return Error{ErrorCode::kUsage, fmt::format("no process {} in the case", o.process_key)};
  }
  std::vector<Cell> params = {host_short_name(o.host), o.from ? Cell{*o.from} : Cell{}, o.to ? Cell{*o.to} : Cell{}};
  auto rows = store::run_query(db, kSql, params);
  if (!rows) return rows.error();
  Table t;
  t.columns = {"time_utc", "host", "event_id", "action", "channel", "process_key", "pid", "image", "parent_key",
               "parent_pid", "parent_image", "command_line", "user", "logon_id", "logon_type", "source_ip",
               "findings", "source_file", "record_id"};
  for (auto& r : rows->rows) {
    std::string key = std::holds_alternative<std::string>(r[6]) ? std::get<std::string>(r[6]) : "";
    if (!subtree.empty() && !subtree.count(key)) continue;
    if (o.logon_id && (!std::holds_alternative<int64_t>(r[14]) || std::get<int64_t>(r[14]) != *o.logon_id)) continue;
    std::string channel = std::get<std::string>(r[3]);
    const EventSpec* spec = find_event_spec(channel, static_cast<uint32_t>(std::get<int64_t>(r[2])));
    Cell logon = std::holds_alternative<int64_t>(r[14]) ? Cell{fmt::format("0x{:x}", std::get<int64_t>(r[14]))} : Cell{};
    t.rows.push_back({r[0], r[1], r[2], spec ? Cell{std::string(spec->action)} : Cell{}, r[3], r[6], r[7], r[8], r[9],
                      r[10], r[11], r[12], r[13], logon, r[15], r[16], r[17], r[5], r[4]});
  }
  return t;
}

}  // namespace treeline::report
