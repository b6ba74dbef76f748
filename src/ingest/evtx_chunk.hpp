#pragma once
// One EVTX chunk decoded: its header and checksums checked, its records parsed, what lies in its
// free space counted. Chunks are independent, so the native reader decodes them on a pool.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/event_catalog.hpp"
#include "ingest/reader.hpp"

namespace treeline::ingest::evtx {

constexpr size_t kHeaderSize = 4096;
constexpr size_t kChunkSize = 65536;

struct DecodedRecord {
  EventRecord record;
  std::optional<ReadIssue> issue;  // set: skipped with this reason
  bool ok = false;
};

struct DecodedChunk {
  std::vector<DecodedRecord> records;
  std::vector<ReadIssue> issues;
  size_t normal = 0, recovered = 0, skipped = 0;
  size_t slack = 0;  // record signatures past the last record: old records libevtx may recover
  size_t index = 0;
  bool zeroed = false;  // all zeros where a chunk should be
  uint64_t last_record_id = 0;  // of the live records
};

// Counts record signatures in bytes that hold no live record. Only a hint for the auto reader,
// which runs libevtx's recovery only when there is something it could recover.
size_t count_record_signatures(const uint8_t* begin, const uint8_t* end);

DecodedChunk decode_chunk(const uint8_t* chunk, size_t size, size_t index);

}  // namespace treeline::ingest::evtx
