#include "ingest/evtx_chunk.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "core/text.hpp"
#include "core/time.hpp"
#include "ingest/binxml.hpp"
#include "ingest/event_data.hpp"

namespace treeline::ingest::evtx {

// The record a parse gave: EventID, EventRecordID (the header's where the XML has none),
// time (the header's written time where the XML has none), names and typed fields.
EventRecord record_from_fields(Fields&& f, uint64_t header_id, int64_t written, bool recovered) {
  EventRecord r;
  auto id = parse_windows_int(f.event_id);
  if (!id) malformed(f.event_id.empty() ? "no EventID" : fmt::format("EventID '{}' is not a number", f.event_id));
  r.event_id = static_cast<uint32_t>(*id) & 0xffff;
  r.record_id = f.record_id ? *f.record_id : header_id;
  if (!f.record_id && !f.record_id_text.empty()) {
    auto rid = parse_windows_int(f.record_id_text);
    if (!rid || *rid < 0) malformed(fmt::format("EventRecordID '{}' is not a number", f.record_id_text));
    r.record_id = static_cast<uint64_t>(*rid);
  }
  if (r.record_id != header_id) r.file_record = header_id;
  r.time = f.time ? *f.time : (f.time_text.empty() ? written : iso_to_filetime(f.time_text).value_or(written));
  r.channel = f.channel.empty() ? "(unknown)" : std::move(f.channel);
  r.provider = std::move(f.provider);
  r.computer = f.computer.empty() ? "(unknown)" : std::move(f.computer);
  r.recovered = recovered;
  r.execution_pid = execution_pid_of(f.execution_pid);
  r.spec = find_event_spec(r.channel, r.event_id);
  if (r.spec) {
    auto version = parse_windows_int(f.version);
    if (!f.version.empty() && (!version || *version < 0 || *version > 255))
      malformed(fmt::format("Version '{}' is not a number", f.version));
    r.version = version ? static_cast<int>(*version) : -1;
  }
  r.names.reserve(f.data.size());
  r.values.reserve(f.data.size());
  for (auto& [name, value] : f.data) {
    r.names.push_back(name);
    r.values.push_back(std::move(value));
  }
  // Before the renaming below: the data is what the record holds.
  r.data = event_data_json(r.names, r.values);
  if (r.spec) {
    // Older manifests name a field twice (4648's second LogonGuid is the target's): the
    // second occurrence takes the Target name the catalog knows, as its position says.
    for (size_t i = 0; i < r.names.size(); ++i)
      for (size_t k = 0; k < i; ++k)
        if (r.names[k] == r.names[i]) {
          std::string target = "Target" + std::string(r.names[i]);
          if (r.spec->field(target)) r.names[i] = intern_name(target);
        }
    r.typed = type_fields(r);
  }
  return r;
}

DecodedChunk decode_chunk(const uint8_t* chunk, size_t size, size_t index, bool carve_slack) {
  DecodedChunk out;
  out.index = index;
  std::string where_chunk = fmt::format("chunk {}", index);
  bool damaged = false;
  if (size < 512 || std::memcmp(chunk, "ElfChnk\0", 8) != 0) {
    // Not a chunk at all: an unused (zeroed) chunk at the end is normal and not reported.
    bool zero = std::all_of(chunk, chunk + std::min<size_t>(size, 512), [](uint8_t b) { return b == 0; });
    if (!zero) out.issues.push_back({where_chunk, "no chunk signature; its records are read where they parse", false});
    out.zeroed = zero;
    if (zero || size < 512) {
      if (carve_slack) carve(chunk, size, 0, nullptr, out);
      return out;
    }
    damaged = true;
  }
  uint32_t free_offset = rd32(chunk + 48);
  if (free_offset < 512 || free_offset > size) {
    out.issues.push_back({where_chunk, fmt::format("free space offset {} is out of range", free_offset), false});
    free_offset = static_cast<uint32_t>(size);
    damaged = true;
  }
  if (!damaged) {
    std::vector<uint8_t> covered(chunk, chunk + 120);
    covered.insert(covered.end(), chunk + 128, chunk + 512);
    uint32_t header_crc = static_cast<uint32_t>(crc32(0, covered.data(), static_cast<uInt>(covered.size())));
    uint32_t records_crc = static_cast<uint32_t>(crc32(0, chunk + 512, free_offset - 512));
    // Logs copied from a running system often carry a stale checksum in the chunk being written:
    // report it, and read the records as the log's own.
    if (header_crc != rd32(chunk + 124) || records_crc != rd32(chunk + 52))
      out.issues.push_back({where_chunk, "chunk checksum mismatch; records read all the same", false});
  }
  ChunkParser parser(chunk, size);
  // The header's first and last record numbers size the list (bounded: they may be damaged).
  if (!damaged) out.records.reserve(std::min<uint64_t>(rd64(chunk + 16) - rd64(chunk + 8) + 1, 1024));
  size_t pos = 512;
  while (pos + 24 <= free_offset) {
    if (rd32(chunk + pos) != 0x00002a2a) {
      if (damaged) break;
      // Zeros up to the free space offset are space the header counted but no record filled (a
      // log copied while written); anything else is damage, and reading resumes at the next
      // record signature.
      size_t next = pos + 8;
      while (next + 24 <= free_offset && rd32(chunk + next) != 0x00002a2a) next += 8;
      bool zeros = std::all_of(chunk + pos, chunk + free_offset, [](uint8_t b) { return b == 0; });
      std::string at = fmt::format("{} offset {}", where_chunk, pos);
      if (zeros) {
        out.issues.push_back({at, "zeros where the header counts records; nothing was written there", false});
        break;
      }
      ++out.skipped;
      if (next + 24 > free_offset) {
        out.issues.push_back({at, "no record signature; rest of chunk skipped", true});
        break;
      }
      out.issues.push_back({at, fmt::format("no record signature: bytes {} to {} are damaged; reading resumes at the "
                                            "next record", pos, next),
                            true});
      pos = next;
      continue;
    }
    uint32_t rsize = rd32(chunk + pos + 4);
    uint64_t header_id = rd64(chunk + pos + 8);
    // Formatted only for a record that has an issue: most have none.
    auto where = [&] { return fmt::format("record {} ({} offset {})", header_id, where_chunk, pos); };
    if (rsize < 28 || rsize > size - pos) {
      ++out.skipped;
      out.issues.push_back({where(), fmt::format("bad record size {}; rest of chunk skipped", rsize), true});
      break;
    }
    // A record whose trailing size copy is wrong was being written when the log was copied
    // (its tail is zeros): what it holds is read, and kept only when its own EventRecordID
    // confirms the header's, so a record of zeros is never an event.
    const uint32_t size_copy = rd32(chunk + pos + rsize - 4);
    const bool incomplete = size_copy != rsize;
    DecodedRecord d;
    try {
      Fields f;
      parser.record(pos + 24, pos + rsize - 4, f);
      d.record = record_from_fields(std::move(f), header_id, static_cast<int64_t>(rd64(chunk + pos + 16)), damaged);
      if (incomplete && d.record.record_id != header_id)
        malformed(fmt::format("incomplete record (its size copy at the end is {}, not {}): its EventRecordID is {}, "
                              "so what it holds is not this record's",
                              size_copy, rsize, d.record.record_id));
      d.ok = true;
      if (incomplete)
        out.issues.push_back({where(), fmt::format("incomplete record (its size copy at the end is {}, not {}; it was being "
                                                   "written when the log was copied): kept with what it holds",
                                                   size_copy, rsize),
                              false});
      if (damaged) ++out.recovered; else ++out.normal;
      if (!damaged) out.last_record_id = std::max(out.last_record_id, d.record.record_id);
    } catch (const Malformed& m) {
      ++out.skipped;
      d.issue = ReadIssue{where(), m.what, true};
    }
    out.records.push_back(std::move(d));
    pos += rsize;
  }
  if (pos < size && carve_slack) carve(chunk, size, pos, &parser, out);
  return out;
}

}  // namespace treeline::ingest::evtx
