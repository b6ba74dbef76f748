// treeline sessions CASE.db
#include <iostream>

#include "cli/command.hpp"
#include "report/sessions.hpp"
#include "store/case_db.hpp"

namespace treeline::cli {
namespace {

struct SessionsArgs {
  std::string case_path, host, format;
  bool full = false;
};

int run_sessions(const SessionsArgs& a) {
  auto format = to_format(a.format);
  auto db = unwrap(store::open_case_read_only(a.case_path));
  auto table = unwrap(report::sessions_table(db, a.host));
  report::write_table(std::cout, table, format, {a.full ? size_t{0} : size_t{60}, a.full ? 0 : report::terminal_width()});
  return kExitOk;
}

}  // namespace

void register_sessions(CLI::App& app) {
  auto a = std::make_shared<SessionsArgs>();
  auto* sub = app.add_subcommand("sessions", "List logon sessions: user, type, source, times, processes");
  sub->add_option("CASE.db", a->case_path, "Case database")->required();
  sub->add_option("--host", a->host, "Only this host");
  sub->add_flag("--wide,--full", a->full, "Do not cut long cells or fit the terminal");
  add_format_option(*sub, a->format);
  sub->callback([a] { exit_code() = run_sessions(*a); });
}

}  // namespace treeline::cli
