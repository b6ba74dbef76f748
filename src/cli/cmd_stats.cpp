// treeline stats CASE.db
#include <fmt/format.h>

#include <iostream>

#include "cli/command.hpp"
#include "report/stats.hpp"
#include "store/case_db.hpp"

namespace treeline::cli {
namespace {

struct StatsArgs {
  std::string case_path;
  std::string format;
  std::vector<std::string> sections;
};

int run_stats(const StatsArgs& a) {
  auto format = to_format(a.format);
  // A CSV file holds one table: which one is the caller's to say.
  if (format == report::Format::kCsv && a.sections.size() != 1)
    throw CliError(kExitUsage, fmt::format("stats --format csv: name one table with --section ({})", report::section_names()));
  auto db = unwrap(store::open_case_read_only(a.case_path));
  auto sections = unwrap(report::collect_stats(db, a.sections));
  if (format == report::Format::kJson) {
    std::cout << "{";
    for (size_t i = 0; i < sections.size(); ++i) {
      std::cout << (i ? ",\n" : "\n") << "\"" << sections[i].title << "\":\n";
      report::write_table(std::cout, sections[i].table, format, {80, report::terminal_width()});
    }
    std::cout << "}\n";
    return kExitOk;
  }
  if (format == report::Format::kCsv) {
    report::write_table(std::cout, sections.front().table, format, {0});
    return kExitOk;
  }
  for (size_t i = 0; i < sections.size(); ++i) {
    std::cout << (i ? "\n" : "") << "## " << sections[i].title << "\n";
    report::write_table(std::cout, sections[i].table, format, {0});
  }
  return kExitOk;
}

}  // namespace

void register_stats(CLI::App& app) {
  auto args = std::make_shared<StatsArgs>();
  auto* sub = app.add_subcommand("stats", "Counts by host, channel and event id, time ranges and audit coverage");
  sub->add_option("CASE.db", args->case_path, "Case database")->required();
  sub->add_option("--section", args->sections, "Only this table (repeatable): sources, hosts, coverage, events; csv needs one");
  add_format_option(*sub, args->format);
  sub->callback([args] { exit_code() = run_stats(*args); });
}

}  // namespace treeline::cli
