#include <fmt/format.h>

#include <cstring>

#include "ingest/binxml.hpp"
#include "ingest/evtx_chunk.hpp"

namespace treeline::ingest::evtx {
namespace {

// Written times outside these years are not a record's (FILETIME of 2000-01-01 and 2100-01-01).
constexpr int64_t kEarliestWritten = 125911584000000000;
constexpr int64_t kLatestWritten = 157469184000000000;

// Provider and channel names are printable ASCII; bytes read through a template that is not
// the fragment's own rarely are.
bool is_name(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (unsigned char ch : s)
    if (ch < 0x20 || ch > 0x7e) return false;
  return true;
}

// Decodes the framed record at `at` (throws Malformed): kept only when its EventRecordID agrees
// with its header and its provider and channel are names.
void carve_one(ChunkParser& parser, const uint8_t* chunk, size_t at, DecodedChunk& out) {
  uint32_t rsize = rd32(chunk + at + 4);
  uint64_t header_id = rd64(chunk + at + 8);
  Fields f;
  parser.record(at + 24, at + rsize - 4, f);
  EventRecord r = record_from_fields(std::move(f), header_id, static_cast<int64_t>(rd64(chunk + at + 16)), true);
  if (r.record_id != header_id) malformed(fmt::format("its EventRecordID {} is not its header's", r.record_id));
  if (!is_name(r.provider) || (r.channel != "(unknown)" && !is_name(r.channel)))
    malformed("its provider or channel is not a name: the bytes of its template were overwritten");
  for (std::string_view n : r.names)
    if (!n.empty() && !is_name(n))
      malformed(fmt::format("field name '{}' is not a name: the bytes of its template were overwritten", n));
  DecodedRecord d;
  d.record = std::move(r);
  d.ok = true;
  ++out.recovered;
  ++out.carved;
  out.records.push_back(std::move(d));
}

void reject(const uint8_t* chunk, size_t at, const std::string& why, DecodedChunk& out) {
  ++out.fragments;
  out.issues.push_back({fmt::format("carved record {} (chunk {} offset {})", rd64(chunk + at + 8), out.index, at),
                        fmt::format("a fragment in free space that does not decode for sure ({}); not kept", why),
                        false});
}

}  // namespace

// Old records survive in a chunk's free space after its last record (a log that wrapped wrote a
// shorter chunk over a longer one), and in chunks whose header is gone. Each candidate must show
// a record signature, a size whose trailing copy agrees, a written time of this century and an
// EventRecordID equal to its header's. Templates resolve where the chunk holds the one the
// fragment names (checked by GUID) and a live record of the chunk used it, or from the
// templates of live records (carve_pending), and every value must have the type that template
// declares: a fragment read with a template not its own is an issue, never an event of another
// channel or provider.
void carve(const uint8_t* chunk, size_t size, size_t from, const ChunkParser* live, DecodedChunk& out) {
  static constexpr uint8_t kSig[4] = {0x2a, 0x2a, 0x00, 0x00};
  ChunkParser parser(chunk, size, ParseMode::kCarve);
  if (live) parser.trust(*live);
  size_t pos = from;
  while (pos + 28 <= size) {
    auto* hit = static_cast<const uint8_t*>(memmem(chunk + pos, size - pos, kSig, 4));
    if (!hit) break;
    size_t at = static_cast<size_t>(hit - chunk);
    pos = at + 4;
    if (at % 8 != 0 || at + 28 > size) continue;  // records are 8-byte aligned
    uint32_t rsize = rd32(chunk + at + 4);
    if (rsize < 28 || rsize > size - at || rd32(chunk + at + rsize - 4) != rsize) continue;
    int64_t written = static_cast<int64_t>(rd64(chunk + at + 16));
    if (rd64(chunk + at + 8) == 0 || written < kEarliestWritten || written > kLatestWritten) continue;
    // Past here it is a record's frame: what becomes of it is said either way.
    pos = at + rsize;
    try {
      carve_one(parser, chunk, at, out);
    } catch (const Malformed& m) {
      if (m.no_template) out.pending.push_back(at);  // for carve_pending, after the live pass
      else reject(chunk, at, m.what, out);
    }
  }
}

void carve_pending(const uint8_t* chunk, size_t size, DecodedChunk& out) {
  ChunkParser parser(chunk, size, ParseMode::kCarveCached);
  for (size_t at : out.pending) {
    try {
      carve_one(parser, chunk, at, out);
    } catch (const Malformed& m) {
      reject(chunk, at, m.what, out);
    }
  }
  out.pending.clear();
}

void reject_pending(const uint8_t* chunk, const std::string& why, DecodedChunk& out) {
  for (size_t at : out.pending) reject(chunk, at, why, out);
  out.pending.clear();
}

}  // namespace treeline::ingest::evtx
