// treeline hunt CASE.db [--rules DIR]
#include <fmt/format.h>

#include <iostream>
#include <map>

#include "cli/command.hpp"
#include "core/text.hpp"
#include "core/vocabulary.hpp"
#include "detect/hunt.hpp"
#include "store/case_db.hpp"
#include "store/query.hpp"

namespace treeline::cli {
namespace {

struct HuntArgs {
  std::string case_path, rules_dir, format, min_severity = "informational";
  bool full = false;
};


int run_hunt(const HuntArgs& a) {
  auto format = to_format(a.format);
  auto rules = unwrap(detect::load_rules(a.rules_dir));
  auto db = unwrap(store::open_case_for_write(a.case_path));
  auto stats = unwrap(detect::hunt(db, rules));

  // Ancestry: every process's parent, image and PID, to draw the path up to its root.
  auto tree = unwrap(store::run_query(db, "SELECT process_key, parent_key, image, pid FROM process_tree"));
  std::map<std::string, std::tuple<std::string, std::string, int64_t>> up;
  for (const auto& r : tree.rows)
    up[report::cell_text(r[0])] = {report::cell_text(r[1]), report::cell_text(r[2]), std::get<int64_t>(r[3])};
  auto path_of = [&](const std::string& key) {
    std::vector<std::string> parts;
    for (std::string k = key; !k.empty() && parts.size() < 64;) {
      auto it = up.find(k);
      if (it == up.end()) break;
      auto& [parent, image, pid] = it->second;
      parts.push_back(fmt::format("{}({})", image.empty() ? "?" : std::string(base_name(image)), pid));
      k = parent;
    }
    // A table shows the nearest four, so the flagged process is never the part that is cut.
    size_t keep = format == report::Format::kTable && !a.full ? 4 : parts.size();
    std::string s = parts.size() > keep ? "… > " : "";
    for (size_t i = std::min(keep, parts.size()); i-- > 0;) s += parts[i] + (i ? " > " : "");
    return s;
  };

  auto rows = unwrap(store::run_query(db,
      "SELECT finding_id, kind, severity, time_utc, host, action, attack, rule_id, pid, image, user_name, logon_type, "
      "ip_address, detail, process_key, target_key, chain, matched, command_line, title FROM findings_v "
      "ORDER BY kind DESC, time_ft IS NULL, time_ft, host, rule_id, finding_id"));
  Table t;
  if (format == report::Format::kTable)
    t.columns = {"id", "severity", "time_utc", "host", "action", "attack", "ancestry", "user", "detail"};
  else
    t.columns = {"finding_id", "kind", "severity", "time_utc", "host", "action", "attack", "rule_id", "title", "pid",
                 "image", "command_line", "user_name", "logon_type", "ip_address", "ancestry", "detail", "process_key",
                 "target_key", "chain", "matched"};
  for (const auto& r : rows.rows) {
    if (severity_rank(report::cell_text(r[2])) < severity_rank(a.min_severity)) continue;
    std::string key = report::cell_text(r[14]);
    std::string ancestry = key.empty() ? "" : path_of(key);
    if (format == report::Format::kTable)
      t.rows.push_back({r[0], r[2], r[3], r[4], r[5], r[6], ancestry, r[10], r[13]});
    else
      t.rows.push_back({r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[19], r[8], r[9], r[18], r[10], r[11], r[12],
                        ancestry, r[13], r[14], r[15], r[16], r[17]});
  }
  if (format == report::Format::kTable)
    fmt::print("Hunted {} processes with {} rules: {} detection(s), {} coverage finding(s).\n\n", stats.processes,
               rules.size(), stats.detections, stats.coverage);
  std::cout.flush();
  report::write_table(std::cout, t, format, {a.full ? size_t{0} : size_t{90}});
  return kExitOk;
}

}  // namespace

void register_hunt(CLI::App& app) {
  auto a = std::make_shared<HuntArgs>();
  auto* sub = app.add_subcommand("hunt", "Run the chain rules over the process trees and list the findings");
  sub->add_option("CASE.db", a->case_path, "Case database")->required();
  sub->add_option("--rules", a->rules_dir, "A folder of more rule files (*.yml), added to the built-in ones");
  sub->add_option("--min-severity", a->min_severity, "Show findings of at least this severity")
      ->check(CLI::IsMember({"informational", "low", "medium", "high", "critical"}));
  sub->add_flag("--full", a->full, "Do not cut long cells");
  add_format_option(*sub, a->format);
  sub->callback([a] { exit_code() = run_hunt(*a); });
}

}  // namespace treeline::cli
