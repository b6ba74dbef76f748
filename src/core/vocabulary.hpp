#pragma once
// Words every stage shares: finding severities, logon types, integrity levels, the PowerShell
// channels. One definition each.
#include <array>
#include <cstdint>
#include <string_view>
#include <utility>

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

// The integrity level a mandatory-label SID names, as Sysmon writes it ("S-1-16-12288" -> "High");
// empty for a SID that is no level.
constexpr std::string_view integrity_level_name(std::string_view sid) {
  constexpr std::pair<std::string_view, std::string_view> kLevels[] = {
      {"S-1-16-0", "Untrusted"}, {"S-1-16-4096", "Low"},   {"S-1-16-8192", "Medium"},  {"S-1-16-8448", "MediumPlus"},
      {"S-1-16-12288", "High"},  {"S-1-16-16384", "System"}, {"S-1-16-20480", "Protected"}};
  for (const auto& [s, level] : kLevels)
    if (s == sid) return level;
  return {};
}

// The logs PowerShell writes itself (4103/4104, 400/403/600/800): their Execution ProcessID is the
// PowerShell host that ran the script. Exports sometimes lower-case channel names.
constexpr bool is_powershell_channel(std::string_view channel) {
  constexpr std::array<std::string_view, 3> kChannels = {"Microsoft-Windows-PowerShell/Operational", "Windows PowerShell",
                                                         "PowerShellCore/Operational"};
  for (std::string_view c : kChannels) {
    if (c.size() != channel.size()) continue;
    bool same = true;
    for (size_t i = 0; i < c.size() && same; ++i) {
      char a = c[i], b = channel[i];
      if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
      if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
      same = a == b;
    }
    if (same) return true;
  }
  return false;
}

}  // namespace treeline
