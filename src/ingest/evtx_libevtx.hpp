#pragma once
// EVTX through libevtx. libevtx error codes end here: callers see Error values and ReadIssues.
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
  int64_t recovered = 0;     // records libevtx recovered from corrupt chunks
  int64_t skipped = 0;       // records libevtx could not read
  int64_t fragments = 0;     // recovery candidates in free space that did not parse
  int64_t xml_rendered = 0;  // records whose XML had to be rendered (unknown layout or channel)
  bool corrupted = false;    // libevtx flagged the file as corrupted
  bool truncated = false;    // the file ends before what its header (or last line) promises
  int64_t slack_signatures = 0;  // native reader: record signatures seen in free space or unused chunks
  int64_t cross_checked = 0; // positional records compared with their XML (ReadOptions)
  int64_t cross_check_mismatches = 0;
};

struct ReadOptions {
  // Render the XML of every positionally named record too, and report any difference in names
  // or values as an issue. Slow; for tests and `ingest --verify`.
  bool cross_check_xml = false;
  // Only the records libevtx recovers from free space and corrupt chunks: what the native reader,
  // which reads the log's own records, adds them from (old, overwritten records are evidence too).
  bool recovered_only = false;
};

using RecordFn = std::function<Status(EventRecord&)>;  // an Error stops the file
using IssueFn = std::function<Status(const ReadIssue&)>;

// Reads the normal records, then the recovered ones. Known events get named EventData values:
// positionally for a known (event id, number of values) layout, otherwise by name from XML.
Expected<ReadStats> read_evtx_libevtx(const std::string& path, const RecordFn& on_record, const IssueFn& on_issue,
                                     const ReadOptions& options = {});

// The same for an EVTX held in memory (an archive member); `name` is used in messages.
Expected<ReadStats> read_evtx_libevtx_memory(const std::string& name, const std::string& bytes, const RecordFn& on_record,
                                            const IssueFn& on_issue, const ReadOptions& options = {});

// First 8 bytes are "ElfFile\0".
bool has_evtx_signature(const std::string& path);

}  // namespace treeline::ingest
