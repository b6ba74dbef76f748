// treeline export CASE.db --format ecs|timesketch [-o FILE] [--bulk INDEX] [--since T] [--until T] [--host H]
#include <fmt/format.h>

#include <fstream>
#include <iostream>

#include "cli/command.hpp"
#include "core/time.hpp"
#include "report/ecs_export.hpp"
#include "store/case_db.hpp"

namespace treeline::cli {
namespace {

struct ExportArgs {
  std::string case_path, format = "ecs", output = "-", bulk, since, until, host;
};

int run_export(const ExportArgs& a) {
  report::ExportOptions o;
  o.format = a.format == "timesketch" ? report::ExportFormat::kTimesketch : report::ExportFormat::kEcs;
  if (!a.bulk.empty() && o.format == report::ExportFormat::kTimesketch)
    throw CliError(kExitUsage, "export: --bulk is for Elasticsearch/OpenSearch (--format ecs)");
  o.bulk_index = a.bulk;
  if (!a.since.empty()) o.since = parse_time_flag("--since", a.since);
  if (!a.until.empty()) o.until = parse_time_flag("--until", a.until);
  o.host = a.host;
  auto db = unwrap(store::open_case_read_only(a.case_path));
  std::ofstream file;
  if (a.output != "-") {
    file.open(a.output, std::ios::binary | std::ios::trunc);
    if (!file) throw CliError(kExitError, fmt::format("export: cannot write {}", a.output));
  }
  std::ostream& out = a.output == "-" ? std::cout : file;
  auto stats = unwrap(report::export_documents(db, out, o));
  fmt::print(stderr, "treeline: exported {} event(s), {} process(es), {} finding(s): {} bytes\n", stats.events,
             stats.processes, stats.findings, stats.bytes);
  return kExitOk;
}

}  // namespace

void register_export(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  auto* sub = app.add_subcommand("export", "Write the case as ECS documents (NDJSON) for Elasticsearch/OpenSearch, or Timesketch JSONL");
  sub->add_option("CASE.db", a->case_path, "Case database")->required();
  sub->add_option("--format", a->format, "ecs (Elastic Common Schema, Winlogbeat's winlog.*) or timesketch")
      ->check(CLI::IsMember({"ecs", "timesketch"}))
      ->capture_default_str();
  sub->add_option("-o,--output", a->output, "Output file (- for stdout)")->capture_default_str();
  sub->add_option("--bulk", a->bulk, "Add Elasticsearch _bulk action lines for this index (curl --data-binary @FILE .../_bulk)");
  sub->add_option("--since", a->since, "Only documents at or after this time (ISO 8601 UTC)");
  sub->add_option("--until", a->until, "Only documents at or before this time (ISO 8601 UTC)");
  sub->add_option("--host", a->host, "Only this host (short or full name)");
  sub->callback([a] { exit_code() = run_export(*a); });
}

}  // namespace treeline::cli
