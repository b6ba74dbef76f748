// treeline sessions CASE.db
#include <iostream>

#include "cli/command.hpp"
#include "core/text.hpp"
#include "store/case_db.hpp"
#include "store/query.hpp"

namespace treeline::cli {
namespace {

struct SessionsArgs {
  std::string case_path, host, format;
  bool full = false;
};

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

int run_sessions(const SessionsArgs& a) {
  auto format = to_format(a.format);
  auto db = unwrap(store::open_case_read_only(a.case_path));
  auto table = unwrap(store::run_query(db, kSessionsSql, {host_short_name(a.host)}));
  report::write_table(std::cout, table, format, {a.full ? size_t{0} : size_t{60}});
  return kExitOk;
}

}  // namespace

void register_sessions(CLI::App& app) {
  auto a = std::make_shared<SessionsArgs>();
  auto* sub = app.add_subcommand("sessions", "List logon sessions: user, type, source, times, processes");
  sub->add_option("CASE.db", a->case_path, "Case database")->required();
  sub->add_option("--host", a->host, "Only this host");
  sub->add_flag("--full", a->full, "Do not cut long cells");
  add_format_option(*sub, a->format);
  sub->callback([a] { exit_code() = run_sessions(*a); });
}

}  // namespace treeline::cli
