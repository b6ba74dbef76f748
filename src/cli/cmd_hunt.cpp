// treeline hunt CASE.db [--rules DIR] [--sigma PATH]... [--no-builtin]
#include <fmt/format.h>

#include <iostream>

#include "cli/command.hpp"
#include "detect/hunt.hpp"
#include "detect/sigma_rule.hpp"
#include "report/findings.hpp"
#include "store/case_db.hpp"

namespace treeline::cli {
namespace {

struct HuntArgs {
  std::string case_path, rules_dir, format, min_severity = "informational", host, since, until;
  std::vector<std::string> sigma;
  bool full = false, no_builtin = false;
};

int run_hunt(const HuntArgs& a) {
  auto format = to_format(a.format);
  std::vector<detect::Rule> rules;
  if (!a.no_builtin) rules = unwrap(detect::load_rules(a.rules_dir));
  // The built-in Sigma rules (rules/sigma: the Security log's correlations) run unless
  // --no-builtin; --sigma adds to them.
  std::optional<detect::sigma::SigmaSet> sigma;
  if (!a.sigma.empty() || !a.no_builtin) {
    sigma = detect::sigma::load_sigma(a.sigma, !a.no_builtin);
    // A rule that cannot run is named, never dropped without a word.
    for (const auto& s : sigma->skipped) fmt::print(stderr, "treeline: {}:{}: Sigma rule skipped: {}\n", s.file, s.line, s.reason);
    if (!a.sigma.empty())
      fmt::print(stderr, "treeline: {} Sigma rule(s) and {} correlation(s) loaded from {} file(s), {} skipped\n",
                 sigma->rules.size(), sigma->correlations.size(), sigma->files, sigma->skipped.size());
  }
  auto db = unwrap(store::open_case_for_write(a.case_path));
  auto stats = unwrap(detect::hunt(db, rules, sigma ? &*sigma : nullptr));
  if (stats.graph_rebuilt)
    fmt::print(stderr, "treeline: the process graph was out of date and was rebuilt first\n");
  // The summary is a message, not data: stdout stays parseable in every format.
  fmt::print(stderr, "treeline: hunted {} processes with {} rules: {} detection(s), {} coverage finding(s)\n",
             stats.processes, rules.size(), stats.detections, stats.coverage);
  if (sigma)
    fmt::print(stderr,
               "treeline: Sigma: {} rule(s) run over {} event(s) ({} rule evaluations after the prefilters), {} hit(s) "
               "({} not tied to a process); {} correlation(s) matched {} time(s) ({} hit(s) lacked a group-by "
               "field); {} rule(s) name a logsource treeline does not read\n",
               stats.sigma.rules_run, stats.sigma.events_scanned, stats.sigma.evaluations, stats.sigma.hits,
               stats.sigma.hits_without_process, sigma->correlations.size(), stats.sigma.correlation_matches,
               stats.sigma.ungrouped_hits, stats.sigma.rules_without_events);
  report::FindingsOptions o;
  o.min_severity = a.min_severity;
  o.full = a.full;
  o.host = a.host;
  if (!a.since.empty()) o.since = parse_time_flag("--since", a.since);
  if (!a.until.empty()) o.until = parse_time_flag("--until", a.until);
  o.style = {a.full ? size_t{0} : size_t{90}, a.full ? size_t{0} : report::terminal_width()};
  unwrap(report::write_findings(std::cout, db, format, o));
  if (stats.detections > 0)
    fmt::print(stderr, "treeline: each finding's story (logons, chain, scripts, services, tasks): treeline story {} --finding ID\n",
               a.case_path);
  return kExitOk;
}

}  // namespace

void register_hunt(CLI::App& app) {
  auto a = std::make_shared<HuntArgs>();
  auto* sub = app.add_subcommand("hunt", "Run the chain rules over the process trees and list the findings");
  sub->add_option("CASE.db", a->case_path, "Case database")->required();
  sub->add_option("--rules", a->rules_dir, "A folder of more rule files (*.yml), added to the built-in ones");
  sub->add_option("--sigma", a->sigma, "Sigma rules: a file, or a folder read recursively (repeatable)");
  sub->add_flag("--no-builtin", a->no_builtin,
                "Run only the --sigma rules: no chain rules (built in or --rules), no built-in Sigma rules");
  sub->add_option("--min-severity", a->min_severity, "Show findings of at least this severity")
      ->check(CLI::IsMember({"informational", "low", "medium", "high", "critical"}));
  sub->add_option("--host", a->host, "Show only this host's findings (short or full name); the hunt still runs on all");
  sub->add_option("--since,--from", a->since, "Show only findings at or after this time (ISO 8601 UTC)");
  sub->add_option("--until,--to", a->until, "Show only findings at or before this time");
  sub->add_flag("--wide,--full", a->full, "Do not cut long cells, nor fit the terminal");
  add_format_option(*sub, a->format);
  sub->callback([a] { exit_code() = run_hunt(*a); });
}

}  // namespace treeline::cli
