#pragma once
// Small text rules shared by every stage: how Windows writes numbers and host names.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace treeline {

// Windows writes PIDs and LogonIds in hex ("0x1d34", zero-padded to 16 digits in 4688) and
// Sysmon in decimal ("7476"). "0x"/"0X" means hex; anything else must be all decimal digits.
// "-" and "" (Windows' "no value") and anything malformed give nullopt.
std::optional<int64_t> parse_windows_int(std::string_view text);

std::string to_lower_ascii(std::string_view text);

// "WIN-DC01.corp.example.com" -> "win-dc01": the key hosts are joined on, since exports mix
// FQDN and short names for the same machine.
std::string host_short_name(std::string_view computer);

// "C:\\Windows\\System32\\cmd.exe" -> "cmd.exe" (either slash).
std::string_view base_name(std::string_view path);

// Display width of UTF-8 text in terminal columns (one per code point).
size_t display_width(std::string_view utf8);

// Without the white space at either end.
std::string_view trim(std::string_view text);
// The parts with `separator` between them.
std::string join(const std::vector<std::string>& parts, std::string_view separator);

// Cuts to `width` columns, keeping both ends: a path keeps its file name and a command line its
// last arguments ("C:\\Windows\\Sys…\\wevtutil.exe\" cl Security"). 0 never cuts.
std::string cut_middle(std::string_view utf8, size_t width);
// Cuts to `width` columns, keeping the start (tree lines, whose start is the structure).
std::string cut_end(std::string_view utf8, size_t width);

}  // namespace treeline
