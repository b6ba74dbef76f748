#pragma once
// A native EVTX reader: reads the file through mmap, checks the header and chunk CRCs, compiles
// each template once (cached across chunks and files by GUID and size) into the few fields
// treeline needs, and reads each record's substitution values straight into named values. It
// never renders XML. Hostile input is bounds-checked everywhere: a bad record is skipped with a
// reason, never a crash.
#include <cstdint>
#include <string>

#include "ingest/evtx_libevtx.hpp"

namespace treeline::ingest {

struct NativeOptions {
  // Decode chunks on this many threads (records still reach the callback in file order).
  unsigned threads = 1;
};

Expected<ReadStats> read_evtx_native(const std::string& path, const RecordFn& on_record, const IssueFn& on_issue,
                                     const NativeOptions& options = {});

// The same over bytes in memory (archive members, the fuzzer).
Expected<ReadStats> read_evtx_native_memory(const std::string& name, const uint8_t* data, size_t size,
                                            const RecordFn& on_record, const IssueFn& on_issue,
                                            const NativeOptions& options = {});

}  // namespace treeline::ingest
