#include "core/text.hpp"

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

}  // namespace treeline
