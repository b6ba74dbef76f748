#pragma once
// EVTX through libevtx. libevtx error codes end here: callers see Error values and ReadIssues.
#include <cstdint>
#include <functional>
#include <string>

#include "ingest/reader.hpp"

namespace treeline::ingest {

struct ReadOptions {
  // Render the XML of every positionally named record too, and report any difference in names
  // or values as an issue. Slow; for tests and `ingest --verify`.
  bool cross_check_xml = false;
  // Only the records libevtx recovers from free space and corrupt chunks: what the native reader,
  // which reads the log's own records, adds them from (old, overwritten records are evidence too).
  bool recovered_only = false;
};


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
