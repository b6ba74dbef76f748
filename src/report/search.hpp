#pragma once
// `treeline search`: a text in every event's data and every process's command line, as a
// case-insensitive substring (or an RE2 regular expression), optionally in one data field, with
// the host, time and event id filters every verb shares.
#include <cstdint>
#include <optional>
#include <string>

#include "core/table.hpp"
#include "store/sqlite.hpp"

namespace treeline::report {

struct SearchOptions {
  std::string text;
  bool regex = false;               // RE2 syntax, case-sensitive unless (?i)
  std::string field;                // only this data field (an EventData name), or "CommandLine"
  std::string host;
  std::optional<int64_t> since, until, event_id;
  int64_t limit = 10000;            // rows at most; the caller is told when there were more
};

struct SearchResult {
  Table table;
  bool truncated = false;
};

// A bad regular expression is kUsage, naming RE2's reason.
Expected<SearchResult> search(store::Db& db, const SearchOptions& options);

}  // namespace treeline::report
