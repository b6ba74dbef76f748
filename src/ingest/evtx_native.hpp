#pragma once
// A native EVTX reader: reads the file through mmap, checks the header and chunk CRCs, compiles
// each template once (cached across chunks and files by GUID and size) into the few fields
// treeline needs, and reads each record's substitution values straight into named values. It
// never renders XML. Hostile input is bounds-checked everywhere: a bad record is skipped with a
// reason, never a crash.
#include <cstdint>
#include <functional>
#include <string>

#include "ingest/reader.hpp"

namespace treeline::ingest {

struct NativeOptions {
  // Decode chunks on this many threads (records still reach the callback in file order).
  unsigned threads = 1;
  // Also carve the old records left in chunks' free space (marked recovered).
  bool carve = false;
};

Expected<ReadStats> read_evtx_native(const std::string& path, const RecordFn& on_record, const IssueFn& on_issue,
                                     const NativeOptions& options = {});

// Pulls up to n bytes into buf; 0 at the end.
using StreamFn = std::function<Expected<size_t>(uint8_t* buf, size_t n)>;

// The same over a stream read once, in order (a large archive member): memory stays bounded
// whatever its size. A stream that breaks keeps what came before and reports the loss.
Expected<ReadStats> read_evtx_native_stream(const std::string& name, const StreamFn& stream, const RecordFn& on_record,
                                            const IssueFn& on_issue, const NativeOptions& options = {});

// The same over bytes in memory (archive members, the fuzzer).
Expected<ReadStats> read_evtx_native_memory(const std::string& name, const uint8_t* data, size_t size,
                                            const RecordFn& on_record, const IssueFn& on_issue,
                                            const NativeOptions& options = {});

}  // namespace treeline::ingest
