#pragma once
// What every reader gives its caller: records through a callback, issues (a record skipped or kept
// with a warning) through another, and counts at the end.
#include <cstdint>
#include <functional>
#include <string>

#include "core/event_catalog.hpp"
#include "core/expected.hpp"

namespace treeline::ingest {

struct ReadIssue {
  std::string location;  // "record 12 (index)", "recovered record 3"
  std::string reason;
  bool skipped;          // true: the record is lost; false: kept with a warning
};

struct ReadStats {
  int64_t normal = 0;        // records from the normal record list
  int64_t recovered = 0;     // records of damaged chunks, and old ones carved from free space
  int64_t skipped = 0;       // records that could not be read
  int64_t fragments = 0;     // candidates in free space that did not decode for sure
  int64_t xml_rendered = 0;  // records whose XML had to be rendered (unknown layout or channel)
  bool corrupted = false;    // the file's header (or libevtx) says it is damaged
  bool truncated = false;    // the file ends before what its header (or last line) promises
  int64_t cross_checked = 0; // positional records compared with their XML (ReadOptions)
  int64_t cross_check_mismatches = 0;
  int64_t not_events = 0;    // JSON: a treeline export's process and finding documents, _bulk action lines
};

using RecordFn = std::function<Status(EventRecord&)>;  // an Error stops the file
using IssueFn = std::function<Status(const ReadIssue&)>;

}  // namespace treeline::ingest
