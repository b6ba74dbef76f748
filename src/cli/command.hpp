#pragma once
// Every verb lives in cmd_<verb>.cpp and registers itself here. A verb's callback either sets the
// exit code or throws CliError; only main() catches.
#include <CLI/CLI.hpp>

#include <stdexcept>
#include <string>

#include "core/expected.hpp"
#include "report/format.hpp"

namespace treeline::cli {

enum ExitCode : int { kExitOk = 0, kExitError = 1, kExitUsage = 2, kExitSkipped = 3, kExitInterrupted = 130 };

class CliError : public std::runtime_error {
 public:
  CliError(int exit_code, const std::string& message) : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// Turns an Error value into the exception main() maps to an exit code.
[[noreturn]] void fail(const Error& error);

template <typename T>
T unwrap(Expected<T> e) {
  if (!e) fail(e.error());
  return std::move(e.value());
}

// Set by a verb's callback; main() returns it.
int& exit_code();

void register_ingest(CLI::App& app);
void register_query(CLI::App& app);
void register_stats(CLI::App& app);
void register_tree(CLI::App& app);
void register_sessions(CLI::App& app);
void register_hunt(CLI::App& app);
void register_timeline(CLI::App& app);
void register_graph(CLI::App& app);
void register_story(CLI::App& app);
void register_export(CLI::App& app);
void register_search(CLI::App& app);

// --format table|csv|json, shared by the verbs that print rows.
CLI::Option* add_format_option(CLI::App& sub, std::string& format);
report::Format to_format(const std::string& name);

// An ISO 8601 UTC time given to `flag` (--since, --at, ...) as FILETIME; a usage error otherwise.
int64_t parse_time_flag(const std::string& flag, const std::string& value);

}  // namespace treeline::cli
