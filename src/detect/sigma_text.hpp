#pragma once
// Text helpers the Sigma compiler and matcher share.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/text.hpp"

namespace treeline::detect::sigma {

inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

using treeline::trim;

// An IPv4 or IPv6 address as 16 bytes, IPv4 mapped (::ffff:a.b.c.d).
bool parse_ip(std::string_view s, std::array<uint8_t, 16>& out);
// A decimal or 0x-hex number, the whole text.
std::optional<double> parse_number(std::string_view s);

}  // namespace treeline::detect::sigma
