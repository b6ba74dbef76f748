#pragma once
// `treeline timeline`: one row per event, in time order, with its process, parent, logon and
// findings, and the source file and record it came from. Stable order, so two runs diff clean.
#include <cstdint>
#include <optional>
#include <string>

#include "core/table.hpp"
#include "store/sqlite.hpp"

namespace treeline::report {

struct TimelineOptions {
  std::string host;
  std::optional<int64_t> from, to;  // FILETIME
  std::optional<int64_t> logon_id;
  std::string process_key;          // that process and its descendants
};

Expected<Table> build_timeline(store::Db& db, const TimelineOptions& options);

}  // namespace treeline::report
