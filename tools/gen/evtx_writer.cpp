#include "evtx_writer.hpp"

#include <zlib.h>

#include <cstdio>
#include <cstring>

#include "core/time.hpp"
#include <stdexcept>

namespace treeline::gen {
namespace {

constexpr size_t kChunkSize = 65536;
constexpr size_t kChunkHeader = 512;

std::u16string utf16(const std::string& s) {
  std::u16string out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    int n;
    if (c < 0x80) { cp = c; n = 1; }
    else if ((c >> 5) == 6) { cp = c & 0x1f; n = 2; }
    else if ((c >> 4) == 14) { cp = c & 0x0f; n = 3; }
    else { cp = c & 0x07; n = 4; }
    for (int k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    i += n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xd800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xdc00 + (cp & 0x3ff)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
  }
  return out;
}

void put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v & 0xff));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
void put32(std::vector<uint8_t>& b, uint32_t v) { for (int i = 0; i < 4; ++i) b.push_back((v >> (8 * i)) & 0xff); }
void put64(std::vector<uint8_t>& b, uint64_t v) { for (int i = 0; i < 8; ++i) b.push_back((v >> (8 * i)) & 0xff); }
void set32(std::vector<uint8_t>& b, size_t at, uint32_t v) { for (int i = 0; i < 4; ++i) b[at + i] = (v >> (8 * i)) & 0xff; }
void set64(std::vector<uint8_t>& b, size_t at, uint64_t v) { for (int i = 0; i < 8; ++i) b[at + i] = (v >> (8 * i)) & 0xff; }

uint32_t crc32_of(const uint8_t* p, size_t n) { return static_cast<uint32_t>(crc32(0L, p, static_cast<uInt>(n))); }

// "{01234567-89ab-cdef-0123-456789abcdef}" -> 16 bytes, the first three groups little-endian.
std::vector<uint8_t> guid_bytes(const std::string& text) {
  std::string hex;
  for (char c : text)
    if (std::isxdigit(static_cast<unsigned char>(c))) hex += c;
  if (hex.size() != 32) throw std::runtime_error("bad GUID: " + text);
  auto byte = [&](size_t i) { return static_cast<uint8_t>(std::stoul(hex.substr(i * 2, 2), nullptr, 16)); };
  std::vector<uint8_t> b(16);
  for (int i = 0; i < 4; ++i) b[i] = byte(3 - i);
  b[4] = byte(5); b[5] = byte(4);
  b[6] = byte(7); b[7] = byte(6);
  for (int i = 8; i < 16; ++i) b[i] = byte(i);
  return b;
}

// "S-1-5-21-1-2-3-500" -> revision, count, 6-byte big-endian authority, little-endian sub-authorities.
std::vector<uint8_t> sid_bytes(const std::string& text) {
  std::vector<uint64_t> parts;
  size_t pos = 2;  // after "S-"
  while (pos <= text.size()) {
    size_t dash = text.find('-', pos);
    parts.push_back(std::stoull(text.substr(pos, dash - pos)));
    if (dash == std::string::npos) break;
    pos = dash + 1;
  }
  if (parts.size() < 2) throw std::runtime_error("bad SID: " + text);
  std::vector<uint8_t> b;
  b.push_back(static_cast<uint8_t>(parts[0]));
  b.push_back(static_cast<uint8_t>(parts.size() - 2));
  for (int i = 5; i >= 0; --i) b.push_back((parts[1] >> (8 * i)) & 0xff);
  for (size_t i = 2; i < parts.size(); ++i) put32(b, static_cast<uint32_t>(parts[i]));
  return b;
}

std::vector<uint8_t> value_bytes(const Value& v) {
  std::vector<uint8_t> b;
  switch (v.type) {
    case ValueType::kNull: break;
    case ValueType::kString:
      for (char16_t c : utf16(v.text)) put16(b, c);
      break;
    case ValueType::kUInt8: b.push_back(static_cast<uint8_t>(v.number)); break;
    case ValueType::kUInt16: put16(b, static_cast<uint16_t>(v.number)); break;
    case ValueType::kInt32:
    case ValueType::kUInt32:
    case ValueType::kHexInt32: put32(b, static_cast<uint32_t>(v.number)); break;
    case ValueType::kUInt64:
    case ValueType::kHexInt64:
    case ValueType::kFileTime: put64(b, v.number); break;
    case ValueType::kGuid: b = guid_bytes(v.text); break;
    case ValueType::kSid: b = sid_bytes(v.text); break;
  }
  return b;
}

}  // namespace

// One chunk being filled. Names and template definitions are written inline at first use
// and referenced by chunk offset afterwards, as Windows does.
struct EvtxWriter::Chunk {
  std::vector<uint8_t> data = std::vector<uint8_t>(kChunkHeader, 0);
  std::map<std::string, uint32_t> names;      // name -> offset of its BinXmlName
  std::map<std::string, uint32_t> templates;  // template key -> offset of its definition data
  uint32_t string_buckets[64] = {};
  uint32_t template_buckets[32] = {};
  uint64_t first_id = 0, last_id = 0;
  uint32_t last_record_offset = 0;
  size_t records = 0;

  // Writes `name` as a reference or inline definition at the end of `b`, whose byte 0 lies
  // at chunk offset `base`.
  void name_ref(std::vector<uint8_t>& b, size_t base, const std::string& name) {
    if (auto it = names.find(name); it != names.end()) {
      put32(b, it->second);
      return;
    }
    uint32_t here = static_cast<uint32_t>(base + b.size() + 4);
    put32(b, here);
    std::u16string w = utf16(name);
    uint32_t hash = 0;
    for (char16_t c : w) hash = hash * 65599 + c;
    uint32_t bucket = hash % 64;
    put32(b, string_buckets[bucket]);  // next name in this hash bucket
    put16(b, static_cast<uint16_t>(hash & 0xffff));
    put16(b, static_cast<uint16_t>(w.size()));
    for (char16_t c : w) put16(b, c);
    put16(b, 0);
    string_buckets[bucket] = here;
    names.emplace(name, here);
  }

  void content(std::vector<uint8_t>& b, size_t base, const Content& c, bool more) {
    if (auto* text = std::get_if<std::string>(&c)) {
      b.push_back(more ? 0x45 : 0x05);
      b.push_back(0x01);
      std::u16string w = utf16(*text);
      put16(b, static_cast<uint16_t>(w.size()));
      for (char16_t ch : w) put16(b, ch);
    } else if (auto* sub = std::get_if<Sub>(&c)) {
      b.push_back(sub->optional ? 0x0e : 0x0d);
      put16(b, sub->index);
      b.push_back(static_cast<uint8_t>(sub->type));
    } else {
      element(b, base, *std::get<std::shared_ptr<Node>>(c));
    }
  }

  void element(std::vector<uint8_t>& b, size_t base, const Node& n) {
    b.push_back(n.attributes.empty() ? 0x01 : 0x41);
    put16(b, 0xffff);  // dependency identifier: not set
    size_t size_at = b.size();
    put32(b, 0);
    name_ref(b, base, n.name);
    if (!n.attributes.empty()) {
      size_t list_at = b.size();
      put32(b, 0);
      for (size_t i = 0; i < n.attributes.size(); ++i) {
        b.push_back(i + 1 < n.attributes.size() ? 0x46 : 0x06);
        name_ref(b, base, n.attributes[i].first);
        content(b, base, n.attributes[i].second, false);
      }
      set32(b, list_at, static_cast<uint32_t>(b.size() - list_at - 4));
    }
    if (n.children.empty()) {
      b.push_back(0x03);
    } else {
      b.push_back(0x02);
      for (size_t i = 0; i < n.children.size(); ++i)
        content(b, base, n.children[i], false);
      b.push_back(0x04);
    }
    set32(b, size_at, static_cast<uint32_t>(b.size() - size_at - 4));
  }

  // The record bytes, or nothing when they do not fit in what is left of the chunk.
  bool append(const Template& t, const std::vector<Value>& values, uint64_t record_id, int64_t time) {
    auto saved_names = names;
    auto saved_templates = templates;
    uint32_t saved_strings[64], saved_tmpl[32];
    std::memcpy(saved_strings, string_buckets, sizeof saved_strings);
    std::memcpy(saved_tmpl, template_buckets, sizeof saved_tmpl);

    size_t base = data.size();
    std::vector<uint8_t> b;
    put32(b, 0x00002a2a);
    put32(b, 0);  // size, patched below
    put64(b, record_id);
    put64(b, static_cast<uint64_t>(time));
    b.insert(b.end(), {0x0f, 0x01, 0x01, 0x00});
    b.push_back(0x0c);
    b.push_back(0x01);
    // The template's GUID is a function of its key, so the same layout has the same id everywhere.
    uint32_t h = 2166136261u;
    for (char ch : t.key) h = (h ^ static_cast<uint8_t>(ch)) * 16777619u;
    put32(b, h);
    if (auto it = templates.find(t.key); it != templates.end()) {
      put32(b, it->second);
    } else {
      uint32_t def = static_cast<uint32_t>(base + b.size() + 4);
      put32(b, def);
      uint32_t bucket = h % 32;
      put32(b, template_buckets[bucket]);  // next template definition in this bucket
      std::vector<uint8_t> guid(16);
      for (int i = 0; i < 16; ++i) guid[i] = static_cast<uint8_t>((h >> ((i % 4) * 8)) ^ (i * 37));
      std::memcpy(guid.data(), &h, 4);
      b.insert(b.end(), guid.begin(), guid.end());
      size_t size_at = b.size();
      put32(b, 0);
      b.insert(b.end(), {0x0f, 0x01, 0x01, 0x00});
      element(b, base, *t.root);
      b.push_back(0x00);  // end of the template's fragment
      set32(b, size_at, static_cast<uint32_t>(b.size() - size_at - 4));
      template_buckets[bucket] = def;
      templates.emplace(t.key, def);
    }
    put32(b, static_cast<uint32_t>(values.size()));
    std::vector<std::vector<uint8_t>> raw;
    for (const Value& v : values) {
      raw.push_back(value_bytes(v));
      if (raw.back().size() > 0xffff) throw std::runtime_error("substitution value too large");
      put16(b, static_cast<uint16_t>(raw.back().size()));
      b.push_back(static_cast<uint8_t>(v.type));
      b.push_back(0);
    }
    for (const auto& r : raw) b.insert(b.end(), r.begin(), r.end());
    b.push_back(0x00);  // end of the record's fragment
    while (b.size() % 8 != 4) b.push_back(0);  // records end 8-byte aligned with the size copy
    put32(b, 0);
    set32(b, 4, static_cast<uint32_t>(b.size()));
    set32(b, b.size() - 4, static_cast<uint32_t>(b.size()));

    // A record that ends exactly at the chunk end is dropped by libevtx and python-evtx alike,
    // so a chunk always keeps some free space.
    if (base + b.size() >= kChunkSize) {
      names = std::move(saved_names);
      templates = std::move(saved_templates);
      std::memcpy(string_buckets, saved_strings, sizeof saved_strings);
      std::memcpy(template_buckets, saved_tmpl, sizeof saved_tmpl);
      return false;
    }
    data.insert(data.end(), b.begin(), b.end());
    if (records == 0) first_id = record_id;
    last_id = record_id;
    last_record_offset = static_cast<uint32_t>(base);
    ++records;
    return true;
  }

  std::vector<uint8_t> finish() {
    std::vector<uint8_t> out = data;
    uint32_t free_offset = static_cast<uint32_t>(out.size());
    out.resize(kChunkSize, 0);
    std::memcpy(out.data(), "ElfChnk\0", 8);
    set64(out, 8, first_id);
    set64(out, 16, last_id);
    set64(out, 24, first_id);
    set64(out, 32, last_id);
    set32(out, 40, 128);
    set32(out, 44, last_record_offset);
    set32(out, 48, free_offset);
    set32(out, 52, crc32_of(out.data() + kChunkHeader, free_offset - kChunkHeader));
    for (int i = 0; i < 64; ++i) set32(out, 128 + 4 * i, string_buckets[i]);
    for (int i = 0; i < 32; ++i) set32(out, 384 + 4 * i, template_buckets[i]);
    std::vector<uint8_t> covered(out.begin(), out.begin() + 120);
    covered.insert(covered.end(), out.begin() + 128, out.begin() + kChunkHeader);
    set32(out, 124, crc32_of(covered.data(), covered.size()));
    return out;
  }
};

std::string render_value(const Value& v) {
  switch (v.type) {
    case ValueType::kNull: return "";
    case ValueType::kString:
    case ValueType::kSid: return v.text;
    case ValueType::kGuid: {
      std::string g = v.text;
      for (char& c : g) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return g;
    }
    case ValueType::kHexInt32:
    case ValueType::kHexInt64: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v.number));
      return buf;
    }
    case ValueType::kFileTime: return treeline::filetime_to_iso(static_cast<int64_t>(v.number));
    default: return std::to_string(v.number);
  }
}

EvtxWriter::EvtxWriter() = default;
EvtxWriter::~EvtxWriter() = default;

void EvtxWriter::add(const Template& tmpl, const std::vector<Value>& values, uint64_t record_id, int64_t written_time) {
  if (!open_) open_ = std::make_unique<Chunk>();
  if (open_->append(tmpl, values, record_id, written_time)) {
    next_record_id_ = record_id + 1;
    return;
  }
  close_chunk();
  open_ = std::make_unique<Chunk>();
  if (!open_->append(tmpl, values, record_id, written_time)) throw std::runtime_error("record larger than a chunk");
  next_record_id_ = record_id + 1;
}

void EvtxWriter::close_chunk() {
  if (open_ && open_->records > 0) chunks_.push_back(open_->finish());
  open_.reset();
}

std::vector<uint8_t> EvtxWriter::finish() {
  close_chunk();
  std::vector<uint8_t> file(4096, 0);
  std::memcpy(file.data(), "ElfFile\0", 8);
  set64(file, 8, 0);
  set64(file, 16, chunks_.empty() ? 0 : chunks_.size() - 1);
  set64(file, 24, next_record_id_);
  set32(file, 32, 128);
  file[36] = 1;  // minor version
  file[38] = 3;  // major version
  file[40] = 0x00;
  file[41] = 0x10;  // header block size 4096
  file[42] = static_cast<uint8_t>(chunks_.size() & 0xff);
  file[43] = static_cast<uint8_t>(chunks_.size() >> 8);
  set32(file, 120, 0);  // flags: clean, not full
  set32(file, 124, crc32_of(file.data(), 120));
  for (const auto& c : chunks_) file.insert(file.end(), c.begin(), c.end());
  return file;
}

}  // namespace treeline::gen
