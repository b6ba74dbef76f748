#pragma once
// Small text rules shared by every stage: how Windows writes numbers and host names.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace treeline {

// Windows writes PIDs and LogonIds in hex ("0x1d34", zero-padded to 16 digits in 4688) and
// Sysmon in decimal ("7476"). "0x"/"0X" means hex; anything else must be all decimal digits.
// "-" and "" (Windows' "no value") and anything malformed give nullopt.
std::optional<int64_t> parse_windows_int(std::string_view text);

std::string to_lower_ascii(std::string_view text);

// "WIN-DC01.corp.example.com" -> "win-dc01": the key hosts are joined on, since exports mix
// FQDN and short names for the same machine.
std::string host_short_name(std::string_view computer);

}  // namespace treeline
