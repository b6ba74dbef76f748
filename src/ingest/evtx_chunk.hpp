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
  size_t carved = 0;     // of `recovered`, the old records carved from free space
  size_t fragments = 0;  // carved candidates that did not decode for sure
  std::vector<size_t> pending;  // carved frames whose template is not in the chunk (offsets)
  size_t index = 0;
  bool zeroed = false;  // all zeros where a chunk should be
  uint64_t last_record_id = 0;  // of the live records
};

// carve: also read the old records left in free space (and in chunks without a header).
DecodedChunk decode_chunk(const uint8_t* chunk, size_t size, size_t index, bool carve = false);

class ChunkParser;

// Appends the records carved from chunk[from, size) to `out` (evtx_carve.cpp); those whose
// template is not in the chunk are left in out.pending. `live` parsed the chunk's live records.
void carve(const uint8_t* chunk, size_t size, size_t from, const ChunkParser* live, DecodedChunk& out);

// Decodes out.pending with the templates live records used (once a file's live records are
// all read, so that what resolves does not depend on thread timing).
void carve_pending(const uint8_t* chunk, size_t size, DecodedChunk& out);

// Reports out.pending as not kept, for `why`.
void reject_pending(const uint8_t* chunk, const std::string& why, DecodedChunk& out);

struct Fields;
// The event a parsed record gives (throws Malformed where a field is not what it must be).
EventRecord record_from_fields(Fields&& f, uint64_t header_id, int64_t written, bool recovered);

}  // namespace treeline::ingest::evtx
