#pragma once
// Windows FILETIME (100 ns ticks since 1601-01-01 UTC) is treeline's canonical clock: it is what
// EVTX stores, so keeping it avoids any loss of precision. Text forms are ISO 8601 UTC.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace treeline {

inline constexpr int64_t kTicksPerSecond = 10'000'000;
// Seconds from 1601-01-01 to 1970-01-01.
inline constexpr int64_t kFiletimeUnixEpochTicks = 116'444'736'000'000'000;

// "2022-08-31T19:18:41.6762812Z": seven fractional digits, the full FILETIME precision.
std::string filetime_to_iso(int64_t filetime);

// Accepts "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS", optional fraction (up to 9 digits, truncated to
// 100 ns), optional "Z" or "+HH:MM"/"-HH:MM" offset; a space may stand for the "T".
std::optional<int64_t> iso_to_filetime(std::string_view text);

}  // namespace treeline
