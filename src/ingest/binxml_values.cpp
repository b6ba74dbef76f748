#include "ingest/binxml.hpp"

#include <charconv>

#include "core/time.hpp"

namespace treeline::ingest::evtx {

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
  // Most text is ASCII: one byte a code unit, written in place; from the first other character
  // on, through append_utf8.
  std::string out(chars, '\0');
  size_t i = 0;
  for (; i < chars; ++i) {
    uint32_t c = rd16(p + 2 * i);
    if (c >= 0x80) break;
    out[i] = static_cast<char>(c);
  }
  if (i == chars) return out;
  out.resize(i);
  out.reserve(i + 3 * (chars - i));
  for (; i < chars; ++i) {
    uint32_t c = rd16(p + 2 * i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < chars) {
      uint32_t lo = rd16(p + 2 * (i + 1));
      if (lo >= 0xdc00 && lo < 0xe000) {
        append_utf8(out, 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00));
        ++i;
        continue;
      }
    }
    // A lone surrogate is not a character: U+FFFD stands for it, so that the text stays UTF-8.
    append_utf8(out, c >= 0xd800 && c < 0xe000 ? 0xfffd : c);
  }
  // A long text keeps no more room than it needs.
  if (out.size() > 4096) out.shrink_to_fit();
  return out;
}

namespace {

// Every record holds a few SIDs, hex integers and GUIDs: written with to_chars, not a format
// string, since the decoding pool renders millions.
template <typename T>
void append_number(std::string& out, T v, int base = 10) {
  char buf[24];
  auto end = std::to_chars(buf, buf + sizeof buf, v, base).ptr;
  out.append(buf, end);
}

std::string hex_text(uint64_t v) {
  std::string s = "0x";
  append_number(s, v, 16);
  return s;
}

void append_hex_digits(std::string& out, uint64_t v, int digits) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int i = digits - 1; i >= 0; --i) out.push_back(kHex[(v >> (4 * i)) & 15]);
}

}  // namespace

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
    case 0x0f: {
      if (n < 16) return "";
      std::string g;
      g.reserve(38);
      g += '{';
      append_hex_digits(g, rd32(p), 8);
      g += '-';
      append_hex_digits(g, rd16(p + 4), 4);
      g += '-';
      append_hex_digits(g, rd16(p + 6), 4);
      g += '-';
      for (int i = 8; i < 16; ++i) {
        if (i == 10) g += '-';
        append_hex_digits(g, p[i], 2);
      }
      g += '}';
      return g;
    }
    case 0x11: return n >= 8 ? filetime_to_iso(static_cast<int64_t>(rd64(p))) : "";
    case 0x13: {
      if (n < 8) return "";
      uint8_t count = p[1];
      if (n < 8u + 4u * count) return "";
      uint64_t auth = 0;
      for (int i = 2; i < 8; ++i) auth = (auth << 8) | p[i];
      std::string s = "S-";
      append_number(s, unsigned{p[0]});
      s += '-';
      append_number(s, auth);
      for (uint8_t i = 0; i < count; ++i) {
        s += '-';
        append_number(s, rd32(p + 8 + 4 * i));
      }
      return s;
    }
    // Hex integers as Windows renders them (Event Viewer, wevtutil, Winlogbeat): "0x3e7", not
    // zero-padded as libevtx writes them, so that an EVTX record and its export hold the same data.
    case 0x10:  // SizeT: as wide as the writer's pointers
      if (n == 4) return hex_text(rd32(p));
      return n >= 8 ? hex_text(rd64(p)) : "";
    case 0x14: return n >= 4 ? hex_text(rd32(p)) : "";
    case 0x15: return n >= 8 ? hex_text(rd64(p)) : "";
    default: {
      std::string hex;
      hex.reserve(2 * n);
      for (size_t i = 0; i < n; ++i) append_hex_digits(hex, p[i], 2);
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

}  // namespace treeline::ingest::evtx
