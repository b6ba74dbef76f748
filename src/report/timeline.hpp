#pragma once
// `treeline timeline`: one row per event, in time order, with its process, parent, logon and
// findings, and the source file and record it came from. Stable order, so two runs diff clean.
// Rows stream from one query to the output: memory does not grow with the case.
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "report/format.hpp"
#include "store/sqlite.hpp"

namespace treeline::report {

struct TimelineOptions {
  std::string host;
  std::optional<int64_t> from, to;  // FILETIME
  std::optional<int64_t> logon_id;
  std::string process_key;          // that process and its descendants
  std::optional<int64_t> event_id;  // only events with this id
  std::string channel;              // only events of this channel (its full name)
  unsigned threads = 0;             // reading threads; 0: one per core (up to 4), 1: none besides the caller
};

// Writes the rows and returns how many.
Expected<size_t> write_timeline(std::ostream& out, store::Db& db, const TimelineOptions& options, Format format,
                                const TableStyle& style = {});

}  // namespace treeline::report
