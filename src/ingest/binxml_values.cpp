#include "ingest/binxml.hpp"

#include <fmt/format.h>

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
  // Most text is ASCII: written straight into a buffer sized for the worst case (three bytes a
  // code unit), the rest through append_utf8.
  std::string out(3 * chars, '\0');
  size_t n = 0;
  for (size_t i = 0; i < chars; ++i) {
    uint32_t c = rd16(p + 2 * i);
    if (c < 0x80) {
      out[n++] = static_cast<char>(c);
      continue;
    }
    std::string tail;
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < chars) {
      uint32_t lo = rd16(p + 2 * (i + 1));
      if (lo >= 0xdc00 && lo < 0xe000) {
        append_utf8(tail, 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00));
        ++i;
      }
    }
    // A lone surrogate is not a character: U+FFFD stands for it, so that the text stays UTF-8.
    if (tail.empty()) append_utf8(tail, c >= 0xd800 && c < 0xe000 ? 0xfffd : c);
    out.replace(n, tail.size(), tail);
    n += tail.size();
  }
  out.resize(n);
  // A long text keeps no more room than it needs (the buffer was three times its length).
  if (n > 4096) out.shrink_to_fit();
  return out;
}

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

}  // namespace treeline::ingest::evtx
