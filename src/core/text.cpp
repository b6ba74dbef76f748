#include "core/text.hpp"

#include <cctype>
#include <charconv>

namespace treeline {

std::optional<int64_t> parse_windows_int(std::string_view t) {
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  if (t.empty() || t == "-") return std::nullopt;
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    t.remove_prefix(2);
  }
  // Parse unsigned so that 64-bit LogonIds with the top bit set survive, then keep the bits.
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v, base);
  if (ec != std::errc() || ptr != t.data() + t.size()) return std::nullopt;
  return static_cast<int64_t>(v);
}

std::string to_lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string host_short_name(std::string_view computer) {
  auto dot = computer.find('.');
  // An IPv4 address is its own short name.
  bool numeric = !computer.empty() && computer.find_first_not_of("0123456789.") == std::string_view::npos;
  return to_lower_ascii(numeric ? computer : computer.substr(0, dot));
}

std::string_view base_name(std::string_view path) {
  auto p = path.find_last_of("\\/");
  return p == std::string_view::npos ? path : path.substr(p + 1);
}

namespace {
bool starts_code_point(char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }

// The byte offset where column `cols` starts (the size when the text is shorter).
size_t offset_of_column(std::string_view s, size_t cols) {
  size_t seen = 0;
  for (size_t i = 0; i < s.size(); ++i)
    if (starts_code_point(s[i]) && seen++ == cols) return i;
  return s.size();
}
}  // namespace

size_t display_width(std::string_view s) {
  size_t w = 0;
  for (char ch : s) w += starts_code_point(ch);
  return w;
}

std::string cut_middle(std::string_view s, size_t width) {
  size_t w = display_width(s);
  if (width == 0 || w <= width) return std::string(s);
  if (width == 1) return "…";
  size_t keep = width - 1, head = (keep + 1) / 2, tail = keep - head;
  std::string out(s.substr(0, offset_of_column(s, head)));
  out += "…";
  out += s.substr(offset_of_column(s, w - tail));
  return out;
}

std::string cut_end(std::string_view s, size_t width) {
  if (width == 0 || display_width(s) <= width) return std::string(s);
  return std::string(s.substr(0, offset_of_column(s, width - 1))) + "…";
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += separator;
    out += parts[i];
  }
  return out;
}

}  // namespace treeline
