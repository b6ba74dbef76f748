// treeline timeline CASE.db [-o timeline.csv] [filters]
#include <fmt/format.h>

#include <fstream>
#include <iostream>

#include "cli/command.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "report/timeline.hpp"
#include "store/case_db.hpp"

namespace treeline::cli {
namespace {

struct TimelineArgs {
  std::string case_path, out, host, from, to, logon, process, format, channel;
  int64_t event_id = -1;
  bool wide = false;
  unsigned threads = 0;
};

int run_timeline(const TimelineArgs& a) {
  auto format = to_format(a.format);
  report::TimelineOptions o;
  o.host = a.host;
  o.process_key = a.process;
  o.threads = a.threads;
  if (a.event_id >= 0) o.event_id = a.event_id;
  o.channel = a.channel;
  if (!a.from.empty()) o.from = parse_time_flag("--since", a.from);
  if (!a.to.empty()) o.to = parse_time_flag("--until", a.to);
  if (!a.logon.empty()) {
    o.logon_id = parse_windows_int(a.logon);
    if (!o.logon_id) throw CliError(kExitUsage, fmt::format("--logon: '{}' is not a LogonId", a.logon));
  }
  auto db = unwrap(store::open_case_read_only(a.case_path));
  report::TableStyle style{a.wide ? size_t{0} : size_t{80}, a.wide ? 0 : report::terminal_width()};
  if (a.out.empty() || a.out == "-") {
    unwrap(report::write_timeline(std::cout, db, o, format, style));
    return kExitOk;
  }
  std::ofstream out(a.out, std::ios::binary);
  if (!out) throw CliError(kExitError, fmt::format("{}: cannot write", a.out));
  auto rows = unwrap(report::write_timeline(out, db, o, format, {0, 0}));
  out.close();
  if (!out) throw CliError(kExitError, fmt::format("{}: write failed", a.out));
  fmt::print(stderr, "treeline: {} events written to {}\n", rows, a.out);
  return kExitOk;
}

}  // namespace

void register_timeline(CLI::App& app) {
  auto a = std::make_shared<TimelineArgs>();
  auto* sub = app.add_subcommand("timeline", "Every event in time order with its process, parent, logon and findings");
  sub->add_option("CASE.db", a->case_path, "Case database")->required();
  sub->add_option("-o,--output", a->out, "Write to this file (default: stdout)");
  sub->add_option("--host", a->host, "Only this host");
  sub->add_option("--since,--from", a->from, "Only events at or after this time (ISO 8601 UTC)");
  sub->add_option("--until,--to", a->to, "Only events at or before this time");
  sub->add_option("--logon", a->logon, "Only events of this LogonId (0x...)");
  sub->add_option("--process", a->process, "Only this process and its descendants");
  sub->add_option("--event-id", a->event_id, "Only events with this id");
  sub->add_option("--channel", a->channel, "Only events of this channel (Security, Microsoft-Windows-Sysmon/Operational, ...)");
  sub->add_option("--threads", a->threads, "Threads reading a large timeline (0: one per core, up to 4)");
  sub->add_flag("--wide", a->wide, "Table format: do not cut long cells, nor fit the terminal");
  sub->add_option("--format", a->format, "Output format")->check(CLI::IsMember({"table", "csv", "json"}))->default_val("csv");
  sub->callback([a] { exit_code() = run_timeline(*a); });
}

}  // namespace treeline::cli
