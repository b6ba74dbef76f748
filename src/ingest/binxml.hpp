#pragma once
// BinXML as EVTX chunks hold it: template definitions compiled once into the few fields treeline
// keeps, template instances read straight into named values, and plain BinXML (the records of a
// re-saved log, written without templates) read the same way. Internal to the EVTX readers.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace treeline::ingest::evtx {

// Every read is bounds-checked; a violation throws this, caught per record (or per chunk).
struct Malformed {
  std::string what;
  bool no_template = false;  // the fragment's template is not in its chunk
};

[[noreturn]] inline void malformed(std::string what) { throw Malformed{std::move(what)}; }

inline uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t rd32(const uint8_t* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
inline uint64_t rd64(const uint8_t* p) { return rd32(p) | (static_cast<uint64_t>(rd32(p + 4)) << 32); }

void append_utf8(std::string& out, uint32_t cp);
std::string utf16_to_utf8(const uint8_t* p, size_t chars);

// The text libevtx renders for a value of BinXML type `type`.
std::string render(uint8_t type, const uint8_t* p, size_t n);
// The items of an array value (type 0x80 | item type).
std::vector<std::string> render_array(uint8_t type, const uint8_t* p, size_t n);

// One EventData/UserData field. Its name lives as long as the process (a compiled template's
// slot, or intern_name's copy), so that records carry views of it and never copy it.
struct FieldValue {
  std::string_view name;
  std::string value;
};

// Decoded fields of one record.
struct Fields {
  std::string event_id, version, provider, channel, computer, time_text, record_id_text, execution_pid;
  std::optional<int64_t> time;
  std::optional<uint64_t> record_id;
  std::vector<FieldValue> data;
};

// The process's one copy of a field name that no compiled template holds (plain BinXML, a
// renamed field). Throws Malformed past a bound no real log comes near (names are a schema's
// vocabulary), so that damaged input cannot grow the set without end.
std::string_view intern_name(std::string_view name);

enum class ParseMode {
  kLive,   // the chunk's own records
  // Carved fragments: every substitution value must have the type its template declares (NULL
  // aside), and a template resolves only inline or where a live record of the chunk used it
  // (trust()); anything else throws Malformed with no_template set.
  kCarve,
  // Carved fragments whose template is not in their chunk: resolved from the templates live
  // records used (by GUID prefix), when exactly one fits the values.
  kCarveCached,
};

// Parses the records of one chunk; names and templates it meets are cached for the chunk, and
// compiled templates for the process.
class ChunkParser {
 public:
  explicit ChunkParser(const uint8_t* chunk, size_t size, ParseMode mode = ParseMode::kLive);
  ~ChunkParser();
  ChunkParser(const ChunkParser&) = delete;
  ChunkParser& operator=(const ChunkParser&) = delete;

  // A carving parser may use the templates the live records of the chunk used.
  void trust(const ChunkParser& live);

  // Parses one record's BinXML (chunk offsets pos..end) into fields; throws Malformed.
  void record(size_t pos, size_t end, Fields& out);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace treeline::ingest::evtx
