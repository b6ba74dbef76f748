// treeline: process trees and timelines from Windows event logs.
#include <fmt/format.h>

#include <cstdio>
#include <iostream>

#include "cli/command.hpp"
#include "core/time.hpp"

namespace treeline::cli {

int& exit_code() {
  static int code = kExitOk;
  return code;
}

void fail(const Error& error) {
  int code = error.code == ErrorCode::kUsage ? kExitUsage : kExitError;
  throw CliError(code, error.message);
}

CLI::Option* add_format_option(CLI::App& sub, std::string& format) {
  return sub.add_option("--format", format, "Output format")
      ->check(CLI::IsMember({"table", "csv", "json"}))
      ->default_val("table");
}

int64_t parse_time_flag(const std::string& flag, const std::string& value) {
  auto t = iso_to_filetime(value);
  if (!t) throw CliError(kExitUsage, fmt::format("{}: '{}' is not an ISO 8601 time (2022-08-31T19:18:41Z)", flag, value));
  return *t;
}

report::Format to_format(const std::string& name) {
  auto f = report::parse_format(name);
  if (!f) throw CliError(kExitUsage, fmt::format("unknown format '{}'", name));
  return *f;
}

}  // namespace treeline::cli

int main(int argc, char** argv) {
  using namespace treeline::cli;
  CLI::App app{"treeline: process trees and timelines from Windows event logs, in a SQLite case database"};
  app.set_version_flag("--version", "treeline 0.1.0");
  app.require_subcommand(1);
  register_ingest(app);
  register_query(app);
  register_stats(app);
  register_tree(app);
  register_sessions(app);
  register_hunt(app);
  register_timeline(app);
  register_graph(app);
  register_story(app);
  register_export(app);
  register_search(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  } catch (const CliError& e) {
    std::fflush(stdout);
    fmt::print(stderr, "treeline: {}\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "treeline: internal error: {}\n", e.what());
    return kExitError;
  }
  std::cout.flush();
  return exit_code();
}
