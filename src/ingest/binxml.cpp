#include "ingest/binxml.hpp"
#include "ingest/binxml_templates.hpp"
#include "ingest/fnv1a.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <string_view>
#include <unordered_map>

namespace treeline::ingest::evtx {
namespace {

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

// Stands for an unnamed <Data> while a template compiles: no Name attribute can hold it.
constexpr std::string_view kUnnamed = "\x01unnamed";

}  // namespace

class ChunkParser::Impl {
 public:
  Impl(const uint8_t* chunk, size_t size, ParseMode mode)
      : chunk_(chunk), size_(size), mode_(mode), strict_(mode != ParseMode::kLive) {}

  // Templates the live records of this chunk used: a carved fragment may use them too.
  void trust(const Impl& live) { local_.insert(live.local_.begin(), live.local_.end()); }

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

  // Whether the start tag at c.pos (its token read) carries a dependency identifier. Template
  // definitions write one; plain BinXML does not: a record's own elements (a re-saved, filtered
  // log writes its records without templates) and a BinXML substitution value. A writer that did
  // otherwise shows in the fields that follow: the element's size must fit and its name offset
  // must point here (an inline name) or back into the chunk.
  bool has_dependency_id(const Cursor& c) const {
    auto plausible = [&](size_t at) {  // `at`: where the element's data size would be
      if (at > c.end || c.end - at < 8) return false;
      uint32_t size = rd32(chunk_ + at), name = rd32(chunk_ + at + 4);
      return size <= c.end - at - 4 && (name == at + 8 || name + 8 <= at);
    };
    if (plausible(in_template_ ? c.pos + 2 : c.pos)) return in_template_;
    if (plausible(in_template_ ? c.pos : c.pos + 2)) return !in_template_;
    return in_template_;
  }

  void element(Cursor& c, std::vector<std::string>& path, std::vector<Slot>& out, int depth) {
    if (depth > 64) malformed("BinXML nested too deep");
    uint8_t t = c.u8();
    if (has_dependency_id(c)) c.u16();
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
        if (el == "Execution" && an == "ProcessID") f = Field::kExecutionPid;
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

  // inline_def: the definition is written in the record itself (else elsewhere in the chunk).
  std::shared_ptr<const Compiled> compile(uint32_t def, const std::vector<std::string>& context, bool inline_def) {
    if (auto it = local_.find({def, context.size()}); it != local_.end()) return it->second;
    if (def > size_ || size_ - def < 24) malformed(fmt::format("template definition offset {} outside the chunk", def));
    uint32_t data_size = rd32(chunk_ + def + 20);
    if (size_ - def - 24 < data_size) malformed(fmt::format("template at {} runs past the chunk", def));
    std::string key(reinterpret_cast<const char*>(chunk_ + def + 4), 16);
    key += fmt::format(":{}:{:x}:{}", data_size, fnv1a(chunk_ + def + 24, data_size), context.size());
    // A carved fragment may use a definition elsewhere in its chunk only when a live record of
    // the chunk used it (trust() put it in local_): else the bytes there may have been
    // overwritten since the fragment was written.
    if (strict_ && !inline_def)
      throw Malformed{fmt::format("the template at chunk offset {} is not one a live record of the chunk uses", def), true};
    auto compiled = template_cache().find(key);
    if (!compiled) {
      auto fresh = std::make_shared<Compiled>();
      fresh->template_id = rd32(chunk_ + def + 4);
      Cursor c{chunk_, size_, def + 24, def + 24 + data_size};
      if (c.peek() == 0x0f) c.skip(4);
      // A nested template (EventData given as a BinXML value) compiles in its parent's context.
      std::vector<std::string> path = context;
      bool saved = in_template_;
      in_template_ = true;
      while (c.pos < c.end && (c.peek() & 0x1f) == 0x01) element(c, path, fresh->slots, 0);
      in_template_ = saved;
      compiled = template_cache().put(key, std::move(fresh), context.size());
    }
    local_.emplace(std::make_pair(def, context.size()), compiled);
    return compiled;
  }

  // A fragment: [fragment header] then a template instance or an element.
  void fragment(Cursor& c, Fields& out, std::vector<std::string> path, int depth) {
    if (depth > 8) malformed("BinXML fragments nested too deep");
    if (c.peek() == 0x0f) c.skip(4);
    uint8_t t = c.peek();
    // An empty BinXML value: it ends before it begins (a record being written when the log was
    // copied has zeros here).
    if (t == 0x00 && depth > 0) return;
    if ((t & 0x1f) == 0x01) {
      std::vector<Slot> slots;
      bool saved = in_template_;
      in_template_ = false;
      element(c, path, slots, 0);
      in_template_ = saved;
      apply(slots, nullptr, c, out, path, depth);
      return;
    }
    if (t != 0x0c) malformed(fmt::format("expected a template instance, found token 0x{:02x}", t));
    c.skip(1);
    c.u8();
    uint32_t template_id = c.u32();
    uint32_t def = c.u32();
    // The instance names its template by the first four bytes of the GUID: a definition at that
    // offset with another GUID is not its template (an old record whose chunk was reused).
    const bool names_match = size_t{def} + 24 <= size_ && rd32(chunk_ + def + 4) == template_id;
    if (!names_match && mode_ != ParseMode::kCarveCached)
      throw Malformed{fmt::format("the template at chunk offset {} is not the one the record names", def), true};
    std::shared_ptr<const Compiled> compiled;
    if (mode_ != ParseMode::kCarveCached) compiled = compile(def, path, def == c.pos);
    if (def == c.pos) {  // the definition is inline: step over it
      c.need(24);
      uint32_t data_size = rd32(chunk_ + c.pos + 20);
      c.skip(24);
      c.skip(data_size);
    }
    uint32_t count = c.u32();
    if (count > 4096) malformed(fmt::format("{} substitution values", count));
    ValueList values(count);
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
    if (!compiled) compiled = template_with_id(template_id, path.size(), values);
    Values v{&values};
    apply(compiled->slots, &v, c, out, path, depth);
    c.pos = at;
  }

  struct Values {
    const ValueList* list;
  };

  void apply(const std::vector<Slot>& slots, const Values* values, Cursor& c, Fields& out,
             const std::vector<std::string>& path, int depth) {
    for (const Slot& s : slots) {
      const uint8_t* p = nullptr;
      size_t n = 0;
      uint8_t type = 0x01;
      // A template's slots are the cache's for the process; plain BinXML's are this call's.
      auto name = [&] { return values ? std::string_view(s.name) : intern_name(s.name); };
      if (s.is_sub) {
        if (!values || s.sub >= values->list->size()) {
          if (s.field == Field::kData) out.data.push_back({name(), {}});
          continue;
        }
        const auto& [off, st] = (*values->list)[s.sub];
        p = chunk_ + off;
        n = st.first;
        type = st.second;
        // A carved fragment decoded with a template that is not its own shows here first: its
        // values are not of the types the template declares.
        if (strict_ && type != 0x00 && !compatible(s.type, type))
          malformed(fmt::format("value {} is of type 0x{:02x}, but the template declares 0x{:02x}", s.sub, type, s.type));
        if (type == 0x00) {
          // NULL: an optional substitution removes its element; a normal one leaves it empty.
          if (s.field == Field::kData && !s.optional) out.data.push_back({name(), {}});
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
        case Field::kExecutionPid: out.execution_pid = text(); break;
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
            for (std::string& item : render_array(type, p, n)) out.data.push_back({name(), std::move(item)});
          } else {
            out.data.push_back({name(), text()});
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
  ParseMode mode_;
  bool strict_;  // values must have the types their template declares (carving)
  bool in_template_ = false;  // compiling a template definition (else plain BinXML)
};

ChunkParser::ChunkParser(const uint8_t* chunk, size_t size, ParseMode mode)
    : impl_(std::make_unique<Impl>(chunk, size, mode)) {}
void ChunkParser::trust(const ChunkParser& live) { impl_->trust(*live.impl_); }
ChunkParser::~ChunkParser() = default;
void ChunkParser::record(size_t pos, size_t end, Fields& out) { impl_->record(pos, end, out); }

}  // namespace treeline::ingest::evtx
