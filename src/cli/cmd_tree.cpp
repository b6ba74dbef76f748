// treeline tree CASE.db [filters]
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <iostream>

#include "cli/command.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "report/tree.hpp"
#include "store/case_db.hpp"

namespace treeline::cli {
namespace {

struct TreeArgs {
  std::string case_path, host, process, at, logon, from, to, format;
  int64_t pid = -1;
  bool ancestors = false, descendants = false, full = false, follow_logons = false, keys = false;
};

int run_tree(const TreeArgs& a) {
  auto format = to_format(a.format);
  report::TreeOptions o;
  o.host = a.host;
  o.process_key = a.process;
  if (a.pid >= 0) o.pid = a.pid;
  if (!a.at.empty()) o.at = parse_time_flag("--at", a.at);
  if (!a.from.empty()) o.from = parse_time_flag("--since", a.from);
  if (!a.to.empty()) o.to = parse_time_flag("--until", a.to);
  if (!a.logon.empty()) {
    o.logon_id = parse_windows_int(a.logon);
    if (!o.logon_id) throw CliError(kExitUsage, fmt::format("--logon: '{}' is not a LogonId (0x3e7 or 999)", a.logon));
  }
  o.ancestors_only = a.ancestors;
  o.descendants_only = a.descendants;
  o.follow_logons = a.follow_logons;
  o.keys = a.keys;
  if (!a.full) o.width = report::terminal_width();
  auto db = unwrap(store::open_case_read_only(a.case_path));
  if (o.pid && !o.at) {
    // PIDs are reused: which process is meant needs a time, so list who held it.
    auto candidates = unwrap(report::pid_candidates(db, a.host, *o.pid));
    report::write_table(std::cout, candidates, format, {a.full ? size_t{0} : size_t{60}, a.full ? 0 : report::terminal_width()});
    fmt::print(stderr, "treeline: {} process(es) held PID {}; pick one with --at TIME or --process KEY\n",
               candidates.rows.size(), *o.pid);
    return kExitOk;
  }
  size_t shown = unwrap(report::write_tree(std::cout, db, o, format));
  if (shown == 0 && format == report::Format::kTable) fmt::print(stderr, "treeline: no process matches\n");
  return kExitOk;
}

}  // namespace

void register_tree(CLI::App& app) {
  auto a = std::make_shared<TreeArgs>();
  auto* sub = app.add_subcommand("tree", "Show process trees (like pstree), with users, logons and command lines");
  sub->add_option("CASE.db", a->case_path, "Case database")->required();
  sub->add_option("--host", a->host, "Only this host (short or full name)");
  sub->add_option("--process", a->process, "The tree around this process key");
  sub->add_option("--pid", a->pid, "The tree around the process with this PID at --at (without --at: the candidates)");
  sub->add_option("--at", a->at, "Time for --pid (ISO 8601 UTC)");
  sub->add_option("--logon", a->logon, "Only processes of this LogonId (0x...)");
  sub->add_option("--since,--from", a->from, "Only processes started at or after this time");
  sub->add_option("--until,--to", a->to, "Only processes started at or before this time");
  sub->add_flag("--ancestors", a->ancestors, "With --process/--pid: only its ancestors");
  sub->add_flag("--descendants", a->descendants, "With --process/--pid: only its descendants");
  sub->add_flag("--keys", a->keys, "End each line with the process key (for --process, graph --process, timeline --process)");
  sub->add_flag("--follow-logons", a->follow_logons,
                "Under a process, draw the logons it opened on other hosts (marked remote) and their processes");
  sub->add_flag("--wide,--full", a->full, "Do not cut lines to the terminal width");
  add_format_option(*sub, a->format);
  sub->callback([a] { exit_code() = run_tree(*a); });
}

}  // namespace treeline::cli
