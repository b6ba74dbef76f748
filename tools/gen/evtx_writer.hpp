#pragma once
// Writes EVTX the way Windows does: a 4 KiB file header, 64 KiB chunks with their string and
// template tables and CRC32s, and records whose BinXML is a template instance with typed
// substitution values. Templates are defined once per chunk and referenced after that.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace treeline::gen {

// BinXML value types (MS-EVEN6).
enum class ValueType : uint8_t {
  kNull = 0x00,
  kString = 0x01,
  kUInt8 = 0x04,
  kUInt16 = 0x06,
  kInt32 = 0x07,
  kUInt32 = 0x08,
  kUInt64 = 0x0a,
  kGuid = 0x0f,
  kFileTime = 0x11,
  kSid = 0x13,
  kHexInt32 = 0x14,
  kHexInt64 = 0x15,
};

// A substitution value: text for strings, SIDs ("S-1-5-18") and GUIDs ("{...}"); numbers else.
struct Value {
  ValueType type = ValueType::kNull;
  std::string text;
  uint64_t number = 0;
  static Value null() { return {}; }
  static Value str(std::string s) { return {ValueType::kString, std::move(s), 0}; }
  static Value num(ValueType t, uint64_t n) { return {t, {}, n}; }
  static Value sid(std::string s) { return {ValueType::kSid, std::move(s), 0}; }
  static Value guid(std::string s) { return {ValueType::kGuid, std::move(s), 0}; }
};

// A template's XML: elements with literal or substituted attributes and content.
struct Node;
struct Sub {
  uint16_t index;
  ValueType type;
  bool optional = false;  // optional: the element disappears when the value is NULL
};
using Content = std::variant<std::string, Sub, std::shared_ptr<Node>>;
struct Node {
  std::string name;
  std::vector<std::pair<std::string, Content>> attributes;
  std::vector<Content> children;
};

struct Template {
  std::string key;  // unique per layout; also seeds the template GUID
  std::shared_ptr<Node> root;
};

// The text Windows renders for a value (hex integers as 0x..., SIDs, GUIDs in braces,
// FILETIME as ISO 8601 UTC), for the JSON and XML exports of a scenario.
std::string render_value(const Value& v);

class EvtxWriter {
 public:
  EvtxWriter();
  ~EvtxWriter();
  // Adds one record. Records must come in record-id order.
  void add(const Template& tmpl, const std::vector<Value>& values, uint64_t record_id, int64_t written_time);
  // The whole file: header plus chunks.
  std::vector<uint8_t> finish();
  size_t chunks() const { return chunks_.size() + (open_ ? 1 : 0); }

 private:
  struct Chunk;
  void close_chunk();
  std::vector<std::vector<uint8_t>> chunks_;
  std::unique_ptr<Chunk> open_;
  uint64_t next_record_id_ = 1;
};

}  // namespace treeline::gen
