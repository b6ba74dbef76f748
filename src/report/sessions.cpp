#include "report/sessions.hpp"

#include "core/text.hpp"
#include "graph/state.hpp"
#include "store/query.hpp"

namespace treeline::report {
namespace {

// Root processes of a session: its processes whose parent ran in another session (or is unknown).
constexpr const char* kSessionsSql = R"sql(
SELECT s.host, s.logon_id_hex AS logon_id, s.user_name, s.logon_type, s.logon_type_name,
       s.ip_address, s.workstation_name, s.start_time, s.end_time, s.process_count,
       s.special_privileges AS admin, s.kind,
       (SELECT group_concat(r.pid || ':' || replace(r.image, rtrim(r.image, replace(r.image, '\', '')), ''), ' ')
          FROM (SELECT p.pid, p.image FROM processes p
                LEFT JOIN process_edges e ON e.child_key = p.process_key
                LEFT JOIN processes pp ON pp.process_key = e.parent_key
                WHERE p.session_key = s.session_key
                  AND (pp.session_key IS NULL OR pp.session_key <> s.session_key)
                ORDER BY p.start_time LIMIT 5) r) AS root_processes,
       s.session_key
FROM logon_sessions s
WHERE (?1 = '' OR s.host = ?1)
ORDER BY s.host, s.start_ft IS NULL, s.start_ft, s.session_key
)sql";

}  // namespace

Expected<Table> sessions_table(store::Db& db, const std::string& host) {
  if (auto s = graph::require_current_graph(db); !s) return s.error();
  return store::run_query(db, kSessionsSql, {host_short_name(host)});
}

}  // namespace treeline::report
