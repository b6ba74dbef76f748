#include "ingest/evtx_native.hpp"

#include "ingest/event_data.hpp"

#include "core/text.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/event_catalog.hpp"
#include "core/time.hpp"

namespace treeline::ingest {
namespace {

constexpr size_t kHeaderSize = 4096;
constexpr size_t kChunkSize = 65536;

// Every read is bounds-checked; a violation throws this, caught per record (or per chunk).
struct Malformed {
  std::string what;
};

[[noreturn]] void malformed(std::string what) { throw Malformed{std::move(what)}; }

uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t rd32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24); }
uint64_t rd64(const uint8_t* p) { return rd32(p) | (static_cast<uint64_t>(rd32(p + 4)) << 32); }

// A view of one chunk (names and template offsets are relative to its start).
struct Cursor {
  const uint8_t* base;  // chunk start
  size_t size;          // chunk size
  size_t pos;
  size_t end;           // this cursor may not read past here

  void need(size_t n) const {
    if (pos > end || n > end - pos) malformed(fmt::format("BinXML runs past its end at chunk offset {}", pos));
  }
  uint8_t u8() {
    need(1);
    return base[pos++];
  }
  uint16_t u16() {
    need(2);
    uint16_t v = rd16(base + pos);
    pos += 2;
    return v;
  }
  uint32_t u32() {
    need(4);
    uint32_t v = rd32(base + pos);
    pos += 4;
    return v;
  }
  uint8_t peek() const {
    need(1);
    return base[pos];
  }
  void skip(size_t n) {
    need(n);
    pos += n;
  }
};

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) out.push_back(static_cast<char>(cp));
  else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

std::string utf16_to_utf8(const uint8_t* p, size_t chars) {
  std::string out;
  out.reserve(chars);
  for (size_t i = 0; i < chars; ++i) {
    uint32_t c = rd16(p + 2 * i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < chars) {
      uint32_t lo = rd16(p + 2 * (i + 1));
      if (lo >= 0xdc00 && lo < 0xe000) {
        append_utf8(out, 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00));
        ++i;
        continue;
      }
    }
    append_utf8(out, c);
  }
  return out;
}

// What a piece of template content feeds.
enum class Field : uint8_t { kEventId, kVersion, kProvider, kChannel, kComputer, kTime, kRecordId, kData, kNested };

struct Slot {
  Field field;
  std::string name;     // EventData name for kData
  bool is_sub = false;  // a substitution (else `literal`)
  bool optional = false;  // an optional substitution: a NULL value removes the element
  uint16_t sub = 0;
  uint8_t type = 0;
  std::string literal;
};

struct Compiled {
  std::vector<Slot> slots;
};

// Template definitions compiled once for all chunks (and files read by this process).
class TemplateCache {
 public:
  std::shared_ptr<const Compiled> find(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    return it == cache_.end() ? nullptr : it->second;
  }
  std::shared_ptr<const Compiled> put(const std::string& key, std::shared_ptr<const Compiled> c) {
    std::lock_guard<std::mutex> lock(mu_);
    return cache_.emplace(key, std::move(c)).first->second;
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const Compiled>> cache_;
};

TemplateCache& template_cache() {
  static TemplateCache cache;
  return cache;
}

uint64_t fnv1a(const uint8_t* p, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

// Stands for an unnamed <Data> while a template compiles: no Name attribute can hold it.
constexpr std::string_view kUnnamed = "\x01unnamed";

// Decoded fields of one record.
struct Fields {
  std::string event_id, version, provider, channel, computer, time_text, record_id_text;
  std::optional<int64_t> time;
  std::optional<uint64_t> record_id;
  std::vector<std::pair<std::string, std::string>> data;
};

std::string render(uint8_t type, const uint8_t* p, size_t n);
std::vector<std::string> render_array(uint8_t type, const uint8_t* p, size_t n);

class ChunkParser {
 public:
  ChunkParser(const uint8_t* chunk, size_t size) : chunk_(chunk), size_(size) {}

  // Parses one record's BinXML (pos..end) into fields.
  void record(size_t pos, size_t end, Fields& out) {
    Cursor c{chunk_, size_, pos, end};
    fragment(c, out, {}, 0);
  }

 private:
  std::string name_at(uint32_t offset) {
    if (auto it = names_.find(offset); it != names_.end()) return it->second;
    if (offset > size_ || size_ - offset < 8) malformed(fmt::format("name offset {} outside the chunk", offset));
    uint16_t chars = rd16(chunk_ + offset + 6);
    if (size_ - offset - 8 < 2u * chars) malformed(fmt::format("name at {} runs past the chunk", offset));
    std::string n = utf16_to_utf8(chunk_ + offset + 8, chars);
    names_.emplace(offset, n);
    return n;
  }

  // A name reference; an inline name (offset == here) is skipped over.
  std::string name(Cursor& c) {
    uint32_t off = c.u32();
    std::string n = name_at(off);
    if (off == c.pos) {
      c.skip(8);
      c.skip(2u * rd16(chunk_ + off + 6) + 2);
    }
    return n;
  }

  static Field field_for(const std::vector<std::string>& path, bool* data) {
    *data = false;
    size_t n = path.size();
    if (n >= 2 && path[n - 2] == "System") {
      const std::string& e = path[n - 1];
      if (e == "EventID") return Field::kEventId;
      if (e == "Version") return Field::kVersion;
      if (e == "Channel") return Field::kChannel;
      if (e == "Computer") return Field::kComputer;
      if (e == "EventRecordID") return Field::kRecordId;
    }
    for (const auto& p : path)
      if (p == "EventData" || p == "UserData") *data = true;
    return Field::kData;
  }

  // Content of an element: text, substitutions, references, child elements.
  void content(Cursor& c, std::vector<std::string>& path, const std::string& data_name, std::vector<Slot>& out,
               int depth) {
    std::string text;
    std::optional<Slot> sub;
    bool any_child = false;
    while (true) {
      uint8_t t = c.peek();
      uint8_t base = t & 0x1f;
      if (base == 0x04) {  // end element
        c.skip(1);
        break;
      }
      if (base == 0x00) break;  // end of fragment (tolerated)
      if (base == 0x01) {
        any_child = true;
        element(c, path, out, depth + 1);
      } else if (base == 0x05) {
        c.skip(1);
        c.u8();  // value type: string
        uint16_t chars = c.u16();
        c.need(2u * chars);
        text += utf16_to_utf8(chunk_ + c.pos, chars);
        c.skip(2u * chars);
      } else if (base == 0x0d || base == 0x0e) {
        c.skip(1);
        Slot s;
        s.is_sub = true;
        s.optional = base == 0x0e;
        s.sub = c.u16();
        s.type = c.u8();
        sub = s;
      } else if (base == 0x08) {
        c.skip(1);
        append_utf8(text, c.u16());
      } else if (base == 0x09) {
        c.skip(1);
        std::string e = name(c);
        text += e == "lt" ? "<" : e == "gt" ? ">" : e == "amp" ? "&" : e == "quot" ? "\"" : e == "apos" ? "'" : "";
      } else if (base == 0x07) {
        c.skip(1);
        uint16_t chars = c.u16();
        c.need(2u * chars);
        text += utf16_to_utf8(chunk_ + c.pos, chars);
        c.skip(2u * chars);
      } else if (base == 0x0a) {
        c.skip(1);
        name(c);
      } else if (base == 0x0b) {
        c.skip(1);
        uint16_t chars = c.u16();
        c.skip(2u * chars);
      } else {
        malformed(fmt::format("unexpected BinXML token 0x{:02x} in element content", t));
      }
    }
    if (any_child && !sub && text.empty()) return;
    bool in_data = false;
    Field f = field_for(path, &in_data);
    if (sub && sub->type == 0x21) {
      sub->field = Field::kNested;
      out.push_back(*sub);
      return;
    }
    if (f == Field::kData && !in_data) return;  // System content treeline does not use
    // The data name: <Data Name="X">, or the element's own name inside UserData.
    std::string nm = data_name == kUnnamed ? std::string() : data_name.empty() ? path.back() : data_name;
    if (f == Field::kData && !path.empty() && path.back() == "EventData") return;
    if (sub) {
      sub->field = f;
      sub->name = nm;
      out.push_back(*sub);
    } else if (!(f == Field::kData && any_child)) {
      Slot s;
      s.field = f;
      s.name = nm;
      s.literal = std::move(text);
      out.push_back(std::move(s));
    }
  }

  void element(Cursor& c, std::vector<std::string>& path, std::vector<Slot>& out, int depth) {
    if (depth > 64) malformed("BinXML nested too deep");
    uint8_t t = c.u8();
    // Elements written straight into a BinXML substitution value (type 0x21) carry no
    // dependency identifier; everywhere else they do.
    if (!in_binxml_value_) c.u16();
    uint32_t size = c.u32();
    size_t after = c.pos;
    (void)size;
    (void)after;
    std::string el = name(c);
    path.push_back(el);
    std::string data_name;
    if (t & 0x40) {
      uint32_t list = c.u32();
      size_t list_end = c.pos + list;
      if (list_end > c.end) malformed("attribute list runs past its element");
      while (c.pos < list_end) {
        uint8_t at = c.u8();
        if ((at & 0x1f) != 0x06) malformed(fmt::format("expected an attribute, found token 0x{:02x}", at));
        std::string an = name(c);
        // The attribute's value: text, substitution or references, while "more" flags say so.
        std::string text;
        std::optional<Slot> sub;
        while (true) {
          uint8_t vt = c.u8();
          uint8_t b = vt & 0x1f;
          if (b == 0x05) {
            c.u8();
            uint16_t chars = c.u16();
            c.need(2u * chars);
            text += utf16_to_utf8(chunk_ + c.pos, chars);
            c.skip(2u * chars);
          } else if (b == 0x0d || b == 0x0e) {
            Slot s;
            s.is_sub = true;
            s.sub = c.u16();
            s.type = c.u8();
            sub = s;
          } else if (b == 0x08) {
            append_utf8(text, c.u16());
          } else if (b == 0x09) {
            name(c);
          } else {
            malformed(fmt::format("unexpected token 0x{:02x} in an attribute value", vt));
          }
          if (!(vt & 0x40)) break;
        }
        std::optional<Field> f;
        if (el == "Provider" && an == "Name") f = Field::kProvider;
        if (el == "TimeCreated" && an == "SystemTime") f = Field::kTime;
        if (el == "Data" && an == "Name" && !sub) data_name = text;
        if (f) {
          Slot s = sub ? *sub : Slot{};
          s.field = *f;
          if (!sub) s.literal = text;
          out.push_back(std::move(s));
        }
      }
    }
    uint8_t close = c.u8();
    if (close == 0x02) {
      // An unnamed <Data> keeps an empty name (event_data.hpp numbers them).
      content(c, path, el == "Data" && data_name.empty() ? std::string(kUnnamed) : data_name, out, depth);
    } else if (close == 0x03) {
      // An empty <Data Name="X"/> (or <Data/>) is a present, empty value.
      bool in_event_data = path.size() >= 2 && path[path.size() - 2] == "EventData";
      if (el == "Data" && (!data_name.empty() || in_event_data)) {
        Slot s;
        s.field = Field::kData;
        s.name = data_name;
        out.push_back(std::move(s));
      }
    } else {
      malformed(fmt::format("expected the end of a start tag, found token 0x{:02x}", close));
    }
    path.pop_back();
  }

  std::shared_ptr<const Compiled> compile(uint32_t def, const std::vector<std::string>& context) {
    if (auto it = local_.find({def, context.size()}); it != local_.end()) return it->second;
    if (def > size_ || size_ - def < 24) malformed(fmt::format("template definition offset {} outside the chunk", def));
    uint32_t data_size = rd32(chunk_ + def + 20);
    if (size_ - def - 24 < data_size) malformed(fmt::format("template at {} runs past the chunk", def));
    std::string key(reinterpret_cast<const char*>(chunk_ + def + 4), 16);
    key += fmt::format(":{}:{:x}:{}", data_size, fnv1a(chunk_ + def + 24, data_size), context.size());
    auto compiled = template_cache().find(key);
    if (!compiled) {
      auto fresh = std::make_shared<Compiled>();
      Cursor c{chunk_, size_, def + 24, def + 24 + data_size};
      if (c.peek() == 0x0f) c.skip(4);
      // A nested template (EventData given as a BinXML value) compiles in its parent's context.
      std::vector<std::string> path = context;
      bool saved = in_binxml_value_;
      in_binxml_value_ = false;
      while (c.pos < c.end && (c.peek() & 0x1f) == 0x01) element(c, path, fresh->slots, 0);
      in_binxml_value_ = saved;
      compiled = template_cache().put(key, std::move(fresh));
    }
    local_.emplace(std::make_pair(def, context.size()), compiled);
    return compiled;
  }

  // A fragment: [fragment header] then a template instance or an element.
  void fragment(Cursor& c, Fields& out, std::vector<std::string> path, int depth) {
    if (depth > 8) malformed("BinXML fragments nested too deep");
    if (c.peek() == 0x0f) c.skip(4);
    uint8_t t = c.peek();
    if ((t & 0x1f) == 0x01) {
      std::vector<Slot> slots;
      bool saved = in_binxml_value_;
      in_binxml_value_ = depth > 0;
      element(c, path, slots, 0);
      in_binxml_value_ = saved;
      apply(slots, nullptr, c, out, path, depth);
      return;
    }
    if (t != 0x0c) malformed(fmt::format("expected a template instance, found token 0x{:02x}", t));
    c.skip(1);
    c.u8();
    c.u32();  // template id
    uint32_t def = c.u32();
    auto compiled = compile(def, path);
    if (def == c.pos) {  // the definition is inline: step over it
      c.need(24);
      uint32_t data_size = rd32(chunk_ + c.pos + 20);
      c.skip(24);
      c.skip(data_size);
    }
    uint32_t count = c.u32();
    if (count > 4096) malformed(fmt::format("{} substitution values", count));
    std::vector<std::pair<size_t, std::pair<uint16_t, uint8_t>>> values(count);
    size_t at = c.pos + 4u * count;
    c.need(4u * count);
    for (uint32_t i = 0; i < count; ++i) {
      uint16_t size = c.u16();
      uint8_t type = c.u8();
      c.u8();
      values[i] = {at, {size, type}};
      at += size;
    }
    if (at > c.end) malformed("substitution values run past the record");
    Values v{&values};
    apply(compiled->slots, &v, c, out, path, depth);
    c.pos = at;
  }

  struct Values {
    const std::vector<std::pair<size_t, std::pair<uint16_t, uint8_t>>>* list;
  };

  void apply(const std::vector<Slot>& slots, const Values* values, Cursor& c, Fields& out,
             const std::vector<std::string>& path, int depth) {
    for (const Slot& s : slots) {
      const uint8_t* p = nullptr;
      size_t n = 0;
      uint8_t type = 0x01;
      if (s.is_sub) {
        if (!values || s.sub >= values->list->size()) {
          if (s.field == Field::kData) out.data.emplace_back(s.name, "");
          continue;
        }
        const auto& [off, st] = (*values->list)[s.sub];
        p = chunk_ + off;
        n = st.first;
        type = st.second;
        if (type == 0x00) {
          // NULL: an optional substitution removes its element; a normal one leaves it empty.
          if (s.field == Field::kData && !s.optional) out.data.emplace_back(s.name, "");
          continue;
        }
      }
      if (s.field == Field::kNested || (s.is_sub && type == 0x21)) {
        if (!s.is_sub) continue;
        Cursor nested{chunk_, size_, static_cast<size_t>(p - chunk_), static_cast<size_t>(p - chunk_) + n};
        std::vector<std::string> inner = path;
        inner.push_back("EventData");
        fragment(nested, out, inner, depth + 1);
        continue;
      }
      auto text = [&] { return s.is_sub ? render(type, p, n) : s.literal; };
      switch (s.field) {
        case Field::kEventId: out.event_id = text(); break;
        case Field::kVersion: out.version = text(); break;
        case Field::kProvider: out.provider = text(); break;
        case Field::kChannel: out.channel = text(); break;
        case Field::kComputer: out.computer = text(); break;
        case Field::kTime:
          if (s.is_sub && type == 0x11 && n == 8) out.time = static_cast<int64_t>(rd64(p));
          else out.time_text = text();
          break;
        case Field::kRecordId:
          if (s.is_sub && (type == 0x0a || type == 0x15) && n == 8) out.record_id = rd64(p);
          else out.record_id_text = text();
          break;
        case Field::kData:
          if (s.is_sub && (type & 0x80)) {
            // An array substitution is one element per item (<Data>a</Data><Data>b</Data>).
            for (std::string& item : render_array(type, p, n)) out.data.emplace_back(s.name, std::move(item));
          } else {
            out.data.emplace_back(s.name, text());
          }
          break;
        case Field::kNested: break;
      }
    }
    (void)c;
  }

  const uint8_t* chunk_;
  size_t size_;
  std::unordered_map<uint32_t, std::string> names_;
  std::map<std::pair<uint32_t, size_t>, std::shared_ptr<const Compiled>> local_;
  bool in_binxml_value_ = false;
};

// The text libevtx renders for a value, so both readers give the same typed rows.
std::string render(uint8_t type, const uint8_t* p, size_t n) {
  switch (type) {
    case 0x01: {
      size_t chars = n / 2;
      while (chars > 0 && rd16(p + 2 * (chars - 1)) == 0) --chars;  // trailing NULs
      return utf16_to_utf8(p, chars);
    }
    case 0x02: {
      size_t len = n;
      while (len > 0 && p[len - 1] == 0) --len;
      return std::string(reinterpret_cast<const char*>(p), len);
    }
    case 0x03: return n >= 1 ? std::to_string(static_cast<int8_t>(p[0])) : "";
    case 0x04: return n >= 1 ? std::to_string(p[0]) : "";
    case 0x05: return n >= 2 ? std::to_string(static_cast<int16_t>(rd16(p))) : "";
    case 0x06: return n >= 2 ? std::to_string(rd16(p)) : "";
    case 0x07: return n >= 4 ? std::to_string(static_cast<int32_t>(rd32(p))) : "";
    case 0x08: return n >= 4 ? std::to_string(rd32(p)) : "";
    case 0x09: return n >= 8 ? std::to_string(static_cast<int64_t>(rd64(p))) : "";
    case 0x0a: return n >= 8 ? std::to_string(rd64(p)) : "";
    case 0x0d: return n >= 4 ? (rd32(p) ? "true" : "false") : "";
    case 0x0f:
      if (n < 16) return "";
      return fmt::format("{{{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}}}", rd32(p), rd16(p + 4),
                         rd16(p + 6), p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15]);
    case 0x11: return n >= 8 ? filetime_to_iso(static_cast<int64_t>(rd64(p))) : "";
    case 0x13: {
      if (n < 8) return "";
      uint8_t count = p[1];
      if (n < 8u + 4u * count) return "";
      uint64_t auth = 0;
      for (int i = 2; i < 8; ++i) auth = (auth << 8) | p[i];
      std::string s = fmt::format("S-{}-{}", p[0], auth);
      for (uint8_t i = 0; i < count; ++i) s += fmt::format("-{}", rd32(p + 8 + 4 * i));
      return s;
    }
    // Hex integers as Windows renders them (Event Viewer, wevtutil, Winlogbeat): "0x3e7", not
    // zero-padded as libevtx writes them, so that an EVTX record and its export hold the same data.
    case 0x10:  // SizeT: as wide as the writer's pointers
      if (n == 4) return fmt::format("0x{:x}", rd32(p));
      return n >= 8 ? fmt::format("0x{:x}", rd64(p)) : "";
    case 0x14: return n >= 4 ? fmt::format("0x{:x}", rd32(p)) : "";
    case 0x15: return n >= 8 ? fmt::format("0x{:x}", rd64(p)) : "";
    default: {
      static constexpr char kHex[] = "0123456789ABCDEF";
      std::string hex(2 * n, '0');
      for (size_t i = 0; i < n; ++i) {
        hex[2 * i] = kHex[p[i] >> 4];
        hex[2 * i + 1] = kHex[p[i] & 15];
      }
      return hex;
    }
  }
}

// The items of an array value (type 0x80 | item type): UTF-16 strings end at each NUL, other
// items have their type's size. An item type of no fixed size is kept whole, as hex.
std::vector<std::string> render_array(uint8_t type, const uint8_t* p, size_t n) {
  uint8_t item = type & 0x7f;
  std::vector<std::string> out;
  if (item == 0x01) {
    size_t start = 0, chars = n / 2;
    for (size_t i = 0; i <= chars; ++i) {
      if (i < chars && rd16(p + 2 * i) != 0) continue;
      if (i < chars || i > start) out.push_back(utf16_to_utf8(p + 2 * start, i - start));
      start = i + 1;
    }
    return out;
  }
  size_t size = 0;
  switch (item) {
    case 0x03: case 0x04: size = 1; break;
    case 0x05: case 0x06: size = 2; break;
    case 0x07: case 0x08: case 0x0d: case 0x14: size = 4; break;
    case 0x09: case 0x0a: case 0x11: case 0x15: size = 8; break;
    case 0x0f: size = 16; break;
    default: break;
  }
  if (size == 0 || n % size != 0) return {render(0x0e, p, n)};
  for (size_t at = 0; at < n; at += size) out.push_back(render(item, p + at, size));
  return out;
}

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
size_t count_record_signatures(const uint8_t* begin, const uint8_t* end) {
  static constexpr uint8_t kSig[4] = {0x2a, 0x2a, 0x00, 0x00};
  size_t n = 0;
  while (end - begin >= 4) {
    auto* hit = static_cast<const uint8_t*>(memmem(begin, static_cast<size_t>(end - begin), kSig, 4));
    if (!hit) break;
    ++n;
    begin = hit + 4;
  }
  return n;
}

DecodedChunk decode_chunk(const uint8_t* chunk, size_t size, size_t index) {
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
      out.slack = count_record_signatures(chunk, chunk + size);
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
  size_t pos = 512;
  while (pos + 24 <= free_offset) {
    if (rd32(chunk + pos) != 0x00002a2a) {
      if (!damaged) out.issues.push_back({fmt::format("{} offset {}", where_chunk, pos), "no record signature; rest of chunk skipped", false});
      break;
    }
    uint32_t rsize = rd32(chunk + pos + 4);
    uint64_t header_id = rd64(chunk + pos + 8);
    // Formatted only for a record that has an issue: most have none.
    auto where = [&] { return fmt::format("record {} ({} offset {})", header_id, where_chunk, pos); };
    if (rsize < 28 || rsize > size - pos || rd32(chunk + pos + rsize - 4) != rsize) {
      ++out.skipped;
      out.issues.push_back({where(), fmt::format("bad record size {}; rest of chunk skipped", rsize), true});
      break;
    }
    DecodedRecord d;
    EventRecord& r = d.record;
    try {
      Fields f;
      parser.record(pos + 24, pos + rsize - 4, f);
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
      int64_t written = static_cast<int64_t>(rd64(chunk + pos + 16));
      r.time = f.time ? *f.time : (f.time_text.empty() ? written : iso_to_filetime(f.time_text).value_or(written));
      r.channel = f.channel.empty() ? "(unknown)" : std::move(f.channel);
      r.provider = std::move(f.provider);
      r.computer = f.computer.empty() ? "(unknown)" : std::move(f.computer);
      r.recovered = damaged;
      r.spec = find_event_spec(r.channel, r.event_id);
      if (r.spec) {
        auto version = parse_windows_int(f.version);
        if (!f.version.empty() && (!version || *version < 0 || *version > 255))
          malformed(fmt::format("Version '{}' is not a number", f.version));
        r.version = version ? static_cast<int>(*version) : -1;
      }
      for (auto& [name, value] : f.data) {
        r.owned_names.push_back(std::move(name));
        r.values.push_back(std::move(value));
      }
      for (const auto& nm : r.owned_names) r.names.emplace_back(nm);
      // Before the renaming below: the data is what the record holds.
      r.data = event_data_json(r.names, r.values);
      if (r.spec) {
        r.names.clear();
        // Older manifests name a field twice (4648's second LogonGuid is the target's): the
        // second occurrence takes the Target name the catalog knows, as its position says.
        for (size_t i = 0; i < r.owned_names.size(); ++i)
          for (size_t k = 0; k < i; ++k)
            if (r.owned_names[k] == r.owned_names[i] && r.spec->field("Target" + r.owned_names[i]))
              r.owned_names[i] = "Target" + r.owned_names[i];
        for (const auto& nm : r.owned_names) r.names.emplace_back(nm);
        r.typed = type_fields(r);
      }
      d.ok = true;
      if (damaged) ++out.recovered; else ++out.normal;
      if (!damaged) out.last_record_id = std::max(out.last_record_id, r.record_id);
    } catch (const Malformed& m) {
      ++out.skipped;
      d.issue = ReadIssue{where(), m.what, true};
    }
    out.records.push_back(std::move(d));
    pos += rsize;
  }
  if (pos < size) out.slack = count_record_signatures(chunk + pos, chunk + size);
  return out;
}

// Where chunks come from: memory, the file (read chunk by chunk with pread, so that memory
// stays bounded whatever the file size), or a stream (a large archive member), which can only
// be read in order and whose size may be unknown until it ends.
struct Source {
  const uint8_t* memory = nullptr;
  int fd = -1;
  size_t size = 0;
  const StreamFn* stream = nullptr;
  size_t stream_pos = 0;
  std::optional<Error> stream_error;  // the stream broke here; what came before is kept

  bool sequential() const { return stream != nullptr; }

  // Fills `buf` with the bytes at `offset`; returns how many (fewer at the end).
  size_t read(size_t offset, size_t length, std::vector<uint8_t>& buf) {
    if (stream) return read_stream(offset, length, buf);
    if (offset >= size) {
      buf.clear();
      return 0;
    }
    length = std::min(length, size - offset);
    buf.resize(length);
    if (memory) {
      std::memcpy(buf.data(), memory + offset, length);
      return length;
    }
    size_t done = 0;
    while (done < length) {
      ssize_t n = pread(fd, buf.data() + done, length - done, static_cast<off_t>(offset + done));
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    buf.resize(done);
    return done;
  }

 private:
  // The header, then chunk after chunk: each read starts where the last ended, unless the
  // stream ended first (a short read), and then there is nothing more.
  size_t read_stream(size_t offset, size_t length, std::vector<uint8_t>& buf) {
    buf.resize(length);
    size_t done = 0;
    while (offset == stream_pos && !stream_error && done < length) {
      auto n = (*stream)(buf.data() + done, length - done);
      if (!n) stream_error = n.error();
      if (!n || *n == 0) break;
      done += *n;
    }
    stream_pos += done;
    buf.resize(done);
    return done;
  }
};

Expected<ReadStats> read_source(const std::string& name, Source& src, const RecordFn& on_record,
                                const IssueFn& on_issue, const NativeOptions& options) {
  std::vector<uint8_t> header;
  if ((!src.sequential() && src.size < kHeaderSize) || src.read(0, kHeaderSize, header) < kHeaderSize ||
      std::memcmp(header.data(), "ElfFile\0", 8) != 0) {
    if (src.stream_error) return *src.stream_error;
    return Error{ErrorCode::kBadInput, fmt::format("{}: not an EVTX file (no \"ElfFile\" signature)", name)};
  }
  ReadStats stats;
  if (static_cast<uint32_t>(crc32(0, header.data(), 120)) != rd32(header.data() + 124)) {
    stats.corrupted = true;
    if (auto s = on_issue({"file header", "header checksum mismatch; chunks are read all the same", false}); !s) return s.error();
  }
  const size_t header_block = kHeaderSize;
  // A stream's chunk count is known when it ends: until then, as many as it gives.
  size_t chunks = src.sequential() ? SIZE_MAX : (src.size - header_block + kChunkSize - 1) / kChunkSize;
  auto fetch = [&src, header_block](size_t i, std::vector<uint8_t>& buf) {
    return src.read(header_block + i * kChunkSize, kChunkSize, buf);
  };
  // What the header promises: chunks in use and the next record id. A file that ends before
  // them, or whose chunks in use are zeros, was cut short (a copy stopped, a collection tool's
  // size limit) and is said to be.
  const uint64_t last_chunk = rd64(header.data() + 16), next_record = rd64(header.data() + 24);
  const uint16_t header_chunks = rd16(header.data() + 42);
  const bool header_sane = header_chunks > 0 && last_chunk < header_chunks;
  uint64_t last_record_read = 0;
  // Zeroed chunks the header counts in use, after the last chunk that held records: a zeroed
  // tail. (A zeroed chunk before live ones is a damaged middle, which a stale header also shows.)
  std::optional<size_t> first_zeroed, last_with_records;
  auto deliver = [&](DecodedChunk& d) -> Status {
    last_record_read = std::max(last_record_read, d.last_record_id);
    if (!d.records.empty()) last_with_records = d.index;
    if (d.zeroed && header_sane && d.index <= last_chunk &&
        (!first_zeroed || (last_with_records && *last_with_records > *first_zeroed)))
      first_zeroed = d.index;
    for (auto& issue : d.issues)
      if (auto s = on_issue(issue); !s) return s;
    for (auto& rec : d.records) {
      if (!rec.ok) {
        if (auto s = on_issue(*rec.issue); !s) return s;
        continue;
      }
      if (auto s = on_record(rec.record); !s) return s;
    }
    stats.normal += static_cast<int64_t>(d.normal);
    stats.recovered += static_cast<int64_t>(d.recovered);
    stats.skipped += static_cast<int64_t>(d.skipped);
    stats.slack_signatures += static_cast<int64_t>(d.slack);
    return ok_status();
  };
  // A stream that broke mid-way: what it gave is kept, and the loss is said.
  auto finish = [&]() -> Expected<ReadStats> {
    if (first_zeroed && (!last_with_records || *last_with_records < *first_zeroed)) {
      stats.truncated = true;
      ++stats.skipped;  // at least one record: how many the zeros held is unknown
      if (auto s = on_issue({fmt::format("chunk {}", *first_zeroed),
                             fmt::format("chunks {} to {} are all zeros, but the header counts them in use (its next "
                                         "record id is {}, the last record read is {}): their records are lost",
                                         *first_zeroed, last_chunk, next_record, last_record_read),
                             true});
          !s)
        return s.error();
    }
    size_t file_end = src.sequential() ? src.stream_pos : src.size;
    size_t promised = header_block + static_cast<size_t>(header_chunks) * kChunkSize;
    if (header_sane && file_end < promised && !src.stream_error) {
      stats.truncated = true;
      ++stats.skipped;  // at least one record, as for a chunk whose rest is skipped
      std::string records = next_record > last_record_read + 1
                                ? fmt::format("; the header's next record id is {}, the last record read is {}",
                                              next_record, last_record_read)
                                : std::string();
      if (auto s = on_issue({fmt::format("byte {}", file_end),
                             fmt::format("the file ends here, but its header counts {} chunks ({} bytes): it was cut "
                                         "short{}",
                                         header_chunks, promised, records),
                             true});
          !s)
        return s.error();
    }
    if (src.stream_error) {
      stats.corrupted = true;
      if (auto s = on_issue({fmt::format("byte {}", src.stream_pos),
                             fmt::format("{}; the records after it are lost", src.stream_error->message), true});
          !s)
        return s.error();
    }
    return stats;
  };
  unsigned threads = std::max(1u, options.threads);
  if (threads == 1) {
    std::vector<uint8_t> buf;
    for (size_t i = 0; i < chunks; ++i) {
      size_t n = fetch(i, buf);
      if (n == 0) break;
      DecodedChunk d = decode_chunk(buf.data(), n, i);
      if (auto s = deliver(d); !s) return s.error();
    }
    return finish();
  }
  // Chunks are independent: worker threads decode ahead, this thread delivers in file order.
  // At most 4 chunks per thread are in flight, so memory stays bounded whatever the file size.
  const size_t window = 4 * threads;
  std::vector<std::optional<DecodedChunk>> slots(window);
  std::mutex mu;
  std::condition_variable_any decoded, consumed;
  size_t next = 0, delivered = 0;
  bool stop = false;
  std::optional<Error> worker_failed;  // a worker that could not decode (out of memory)
  std::vector<DecodedChunk> garbage;
  auto work = [&](std::stop_token token) {
    std::unique_lock lock(mu);
    std::vector<uint8_t> buf;
    for (;;) {
      consumed.wait(lock, token, [&] { return stop || next >= chunks || next < delivered + window; });
      if (token.stop_requested() || stop || next >= chunks) return;
      size_t i = next++;
      size_t n = 0;
      // A stream is read in order, so under the lock; a file or memory in parallel.
      if (src.sequential()) {
        n = fetch(i, buf);
        if (n == 0) {
          chunks = i;
          decoded.notify_all();
          consumed.notify_all();
          return;
        }
      }
      // Delivered chunks are freed here: their strings were allocated by this pool, and freeing
      // a million records is work the single writer thread should not do.
      std::vector<DecodedChunk> done;
      done.swap(garbage);
      lock.unlock();
      done.clear();
      DecodedChunk d;
      try {
        if (!src.sequential()) n = fetch(i, buf);
        d = decode_chunk(buf.data(), n, i);
      } catch (const std::exception& e) {
        // Not a damaged record (decode_chunk reports those): the pool itself failed.
        lock.lock();
        worker_failed = Error{ErrorCode::kInternal, fmt::format("{}: chunk {}: {}", name, i, e.what())};
        stop = true;
        decoded.notify_all();
        consumed.notify_all();
        return;
      }
      lock.lock();
      slots[i % window] = std::move(d);
      decoded.notify_all();
    }
  };
  // Declared after everything the workers touch, so it is destroyed first: a jthread asks its
  // worker to stop and joins it, whichever way this function is left (an exception from a
  // delivery included).
  std::vector<std::jthread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work);
  Status status = ok_status();
  for (size_t i = 0; status; ++i) {
    std::optional<DecodedChunk> d;
    {
      std::unique_lock lock(mu);
      decoded.wait(lock, [&] { return worker_failed || i >= chunks || slots[i % window].has_value(); });
      if (worker_failed) {
        status = *worker_failed;
        break;
      }
      if (i >= chunks) break;
      d = std::move(slots[i % window]);
      slots[i % window].reset();
    }
    status = deliver(*d);
    {
      std::lock_guard lock(mu);
      garbage.push_back(std::move(*d));
      delivered = i + 1;
      if (!status) stop = true;
    }
    consumed.notify_all();
  }
  {
    std::lock_guard lock(mu);
    stop = true;
  }
  consumed.notify_all();
  pool.clear();
  if (!status) return status.error();
  return finish();
}

}  // namespace

Expected<ReadStats> read_evtx_native_memory(const std::string& name, const uint8_t* data, size_t size,
                                            const RecordFn& on_record, const IssueFn& on_issue,
                                            const NativeOptions& options) {
  Source src;
  src.memory = data;
  src.size = size;
  return read_source(name, src, on_record, on_issue, options);
}

Expected<ReadStats> read_evtx_native_stream(const std::string& name, const StreamFn& stream, const RecordFn& on_record,
                                            const IssueFn& on_issue, const NativeOptions& options) {
  Source src;
  src.stream = &stream;
  return read_source(name, src, on_record, on_issue, options);
}

Expected<ReadStats> read_evtx_native(const std::string& path, const RecordFn& on_record, const IssueFn& on_issue,
                                     const NativeOptions& options) {
  // Evidence is opened read-only.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{ErrorCode::kIo, fmt::format("{}: cannot open: {}", path, std::strerror(errno))};
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    return Error{ErrorCode::kIo, fmt::format("{}: cannot stat: {}", path, std::strerror(errno))};
  }
  Source src;
  src.fd = fd;
  src.size = static_cast<size_t>(st.st_size);
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  auto result = read_source(path, src, on_record, on_issue, options);
  ::close(fd);
  return result;
}

}  // namespace treeline::ingest
