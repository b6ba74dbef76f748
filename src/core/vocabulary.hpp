#pragma once
// Words every stage shares: finding severities and logon types. One definition each.
#include <array>
#include <cstdint>
#include <string_view>

namespace treeline {

// Lowest first; a finding's severity is one of these.
inline constexpr std::array<std::string_view, 5> kSeverities = {"informational", "low", "medium", "high", "critical"};

// 0 (informational) to 4 (critical); -1 for a word that is no severity.
constexpr int severity_rank(std::string_view s) {
  for (size_t i = 0; i < kSeverities.size(); ++i)
    if (kSeverities[i] == s) return static_cast<int>(i);
  return -1;
}

// The short name a tree line shows for a 4624 LogonType.
constexpr std::string_view logon_type_short_name(int64_t type) {
  switch (type) {
    case 0: return "system";
    case 2: return "interactive";
    case 3: return "network";
    case 4: return "batch";
    case 5: return "service";
    case 7: return "unlock";
    case 8: return "net-cleartext";
    case 9: return "new-creds";
    case 10: return "rdp";
    case 11: return "cached";
    default: return "other";
  }
}

}  // namespace treeline
