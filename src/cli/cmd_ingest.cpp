// treeline ingest CASE.db PATH...
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "cli/command.hpp"
#include "cli/progress.hpp"
#include "core/interrupt.hpp"
#include "detect/refresh.hpp"
#include "graph/state.hpp"
#include "ingest/ingester.hpp"
#include "store/case_db.hpp"

namespace treeline::cli {
namespace {

struct IngestArgs {
  std::string case_path;
  std::vector<std::string> inputs;
  bool quiet = false;
  bool files = false;
  bool rebuild_graph = false;
  bool no_graph = false;
  std::string format;
  std::string reader = "auto";
  unsigned threads = 2;
  size_t member_memory_mib = 64;
};

const char* status_name(ingest::FileReport::Status s) {
  switch (s) {
    case ingest::FileReport::Status::kIngested: return "ingested";
    case ingest::FileReport::Status::kAlreadyInCase: return "already in case";
    case ingest::FileReport::Status::kFailed: return "failed";
  }
  return "?";
}

Table files_table(const ingest::IngestReport& r) {
  Table t;
  t.columns = {"file", "status", "reader", "read", "new", "duplicate", "recovered", "skipped", "issues"};
  for (const auto& f : r.files) {
    // A file cut short is kept as far as it goes: the case marks it partial.
    std::string status = f.status == ingest::FileReport::Status::kIngested && f.read.truncated ? "partial (cut short)"
                                                                                                : status_name(f.status);
    t.rows.push_back({f.path, status, f.reader, f.totals.read, f.totals.added,
                      f.totals.duplicate, f.totals.recovered, f.totals.skipped, f.issue_count});
  }
  return t;
}

Table events_table(const ingest::IngestReport& r) {
  Table t;
  t.columns = {"channel", "event_id", "records", "stored_as"};
  for (const auto& [key, c] : r.by_event)
    t.rows.push_back({key.first, int64_t{key.second}, c.records, std::string(c.typed ? "typed" : "data")});
  return t;
}

void print_summary(const IngestArgs& a, const ingest::IngestReport& report, size_t losses) {
  double secs = report.elapsed.count();
  size_t already = 0;
  for (const auto& f : report.files) already += f.status == ingest::FileReport::Status::kAlreadyInCase;
  fmt::print("Ingested {} file(s) into {} in {:.2f} s: {} read, {} new, {} skipped ({:.0f} records/s). "
             "{} already in the case, {} failed{}{}.\n",
             report.files.size() - already - report.files_failed(), a.case_path, secs, report.records_read(),
             report.records_added(), report.records_skipped(), secs > 0 ? static_cast<double>(report.records_read()) / secs : 0.0, already,
             report.files_failed(),
             report.ignored_files + report.ignored.size()
                 ? fmt::format(", {} non-log file(s) ignored", report.ignored_files + report.ignored.size())
                 : "",
             losses ? fmt::format(", {} file(s) with records lost", losses) : "");
}

void print_graph(const detect::GraphRebuild& r) {
  const auto& g = r.graph;
  std::string methods, reasons;
  for (const auto& [m, n] : g.links_by_method) methods += fmt::format("{}{} {}", methods.empty() ? "" : ", ", n, m);
  for (const auto& [why, n] : g.orphans_by_reason) reasons += fmt::format("{}{} {}", reasons.empty() ? "" : ", ", n, why);
  fmt::print("\nProcess graph: {} processes ({} seen by both 4688 and Sysmon), {} placeholder parents, {} logon sessions.\n"
             "Parent links: {}.{}\n",
             g.processes, g.merged, g.placeholders, g.sessions, methods.empty() ? "none" : methods,
             reasons.empty() ? "" : fmt::format(" Orphans: {}.", reasons));
}

int run_ingest(const IngestArgs& a) {
  auto format = to_format(a.format);
  if (a.inputs.empty() && !a.rebuild_graph) throw CliError(kExitUsage, "ingest: give at least one PATH");
  install_interrupt_handlers();
  auto db = unwrap(store::open_case_for_write(a.case_path));
  ingest::IngestOptions options;
  options.reader = a.reader == "native" ? ingest::ReaderChoice::kNative
                   : a.reader == "libevtx" ? ingest::ReaderChoice::kLibevtx
                                           : ingest::ReaderChoice::kAuto;
  options.threads = std::max(1u, a.threads);
  options.member_memory_limit = a.member_memory_mib << 20;
  ingest::Ingester ingester(db, options);
  ProgressBar bar(!a.quiet);
  auto report = unwrap(ingester.run(a.inputs, [&](const ingest::Progress& p) {
    bar.update(p.files_done, p.files_total, p.records, p.current);
  }));
  bar.finish();

  // stderr says what an analyst must know: failed files and lost records, one line each.
  // Warnings (recovery fragments, assumed channels) are counted in the table and kept in
  // the ingest_issues table.
  size_t losses = 0;
  for (const auto& f : report.files) {
    if (f.status == ingest::FileReport::Status::kFailed) fmt::print(stderr, "treeline: {}\n", f.message);
    if (f.issues.empty()) continue;
    ++losses;
    for (const auto& issue : f.issues)
      fmt::print(stderr, "treeline: {}: {}: skipped: {}\n", f.path, issue.location, issue.reason);
    fmt::print(stderr, "treeline: {}: {} record(s) skipped in all; `treeline query {} --named ingest_issues` lists them\n",
               f.path, f.totals.skipped, a.case_path);
  }
  for (const auto& path : report.ignored) fmt::print(stderr, "treeline: ignored {}\n", path);

  if (format == report::Format::kTable) print_summary(a, report, losses);
  if (format == report::Format::kJson) {
    // One JSON document: the files, then the per-event counts, as two arrays in an object.
    std::cout << "{\"files\":\n";
    report::write_table(std::cout, files_table(report), format);
    std::cout << ",\"events\":\n";
    report::write_table(std::cout, events_table(report), format);
    std::cout << "}\n";
  } else if (format == report::Format::kCsv) {
    report::write_table(std::cout, files_table(report), format, {0});
  } else if (!a.quiet || a.files) {
    report::TableStyle style{0, report::terminal_width()};
    std::cout << "\n";
    report::write_table(std::cout, files_table(report), format, style);
    if (!a.quiet) {
      std::cout << "\n";
      report::write_table(std::cout, events_table(report), format, style);
    }
  }
  std::cout.flush();
  if (report.interrupted) {
    // No graph rebuild: the analyst asked to stop. The case knows its graph is out of date.
    fmt::print(stderr, "treeline: interrupted{}; {} file(s) committed before it stay in the case. "
                       "The process graph was not rebuilt: run `treeline ingest {} --rebuild-graph`\n",
               report.interrupted_file.empty() ? "" : fmt::format(": {} was rolled back", report.interrupted_file),
               report.files.size(), a.case_path);
    return kExitInterrupted;
  }
  // The graph is rebuilt over the whole case, so links can use processes from earlier runs. It
  // is also rebuilt when an earlier --no-graph or interrupted run left it out of date.
  bool stale = !unwrap(graph::graph_state(db)).current;
  if (a.rebuild_graph || (!a.no_graph && (report.records_added() > 0 || stale))) {
    auto g = unwrap(detect::rebuild_graph(db));
    if (format == report::Format::kTable && !a.quiet) print_graph(g);
    if (g.findings_cleared > 0)
      fmt::print(stderr, "treeline: the process graph changed: the {} finding(s) of the last hunt were cleared; "
                         "run `treeline hunt {}` again\n", g.findings_cleared, a.case_path);
  } else if (stale) {
    fmt::print(stderr, "treeline: the process graph was not rebuilt (--no-graph); `treeline ingest {} --rebuild-graph` "
                       "builds it\n", a.case_path);
  }
  if (report.files_failed() > 0) return kExitError;
  // Exit 3 exactly when the summary counts something skipped: records, or files whose records
  // were lost without a count (a streamed member libevtx could not read again).
  if (report.records_skipped() > 0 || losses > 0) return kExitSkipped;
  return kExitOk;
}

}  // namespace

void register_ingest(CLI::App& app) {
  auto args = std::make_shared<IngestArgs>();
  auto* sub = app.add_subcommand("ingest", "Read event logs (files or folders, recursively) into a case database");
  sub->add_option("CASE.db", args->case_path, "Case database (created if missing)")->required();
  sub->add_option("PATH", args->inputs, "Event logs: EVTX, JSON, XML, zip/gz/tar, or folders of them");
  sub->add_flag("-q,--quiet", args->quiet, "No progress bar; only the summary line");
  sub->add_flag("--files", args->files, "With --quiet: also the per-file table");
  sub->add_flag("--rebuild-graph", args->rebuild_graph, "Rebuild the process graph even when nothing new was added");
  sub->add_flag("--no-graph", args->no_graph, "Do not rebuild the process graph now (for several ingests in a row)");
  sub->add_option("--reader", args->reader, "EVTX reader: auto (native, and old records carved from free space), native (live records only), libevtx")
      ->check(CLI::IsMember({"auto", "native", "libevtx"}))
      ->capture_default_str();
  sub->add_option("--threads", args->threads, "Threads decoding EVTX chunks (native reader)")->capture_default_str();
  sub->add_option("--member-memory", args->member_memory_mib,
                  "Archive members up to this many MiB are read into memory; larger ones are streamed")
      ->capture_default_str();
  add_format_option(*sub, args->format);
  sub->callback([args] { exit_code() = run_ingest(*args); });
}

}  // namespace treeline::cli
