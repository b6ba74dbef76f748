#include "core/time.hpp"

#include <fmt/format.h>

#include <cctype>
#include <chrono>

namespace treeline {
namespace {

// Howard Hinnant's days_from_civil / civil_from_days, via <chrono> calendar types.
int64_t days_from_civil(int y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return sys_days{year{y} / month{m} / day{d}}.time_since_epoch().count();
}

bool read_digits(std::string_view s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

}  // namespace

std::string filetime_to_iso(int64_t filetime) {
  using namespace std::chrono;
  // Seconds first, then the epoch: subtracting the epoch's ticks would overflow on a corrupt
  // record's time near the int64 limits. The epoch is a whole number of seconds, so this is exact.
  int64_t secs = filetime / kTicksPerSecond;
  int64_t frac = filetime % kTicksPerSecond;
  if (frac < 0) {
    frac += kTicksPerSecond;
    secs -= 1;
  }
  secs -= kFiletimeUnixEpochTicks / kTicksPerSecond;
  int64_t days = secs / 86400;
  int64_t sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    days -= 1;
  }
  year_month_day ymd{sys_days{std::chrono::days{days}}};
  int year = int(ymd.year());
  if (year < 0 || year > 9999)  // outside what four digits hold: let fmt write the sign and width
    return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:07d}Z", year, unsigned(ymd.month()),
                       unsigned(ymd.day()), sod / 3600, (sod / 60) % 60, sod % 60, frac);
  // Written by hand: the timeline formats one per event.
  std::string out(28, '0');
  auto put = [&out](size_t at, int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10) out[at + static_cast<size_t>(i)] = static_cast<char>('0' + v % 10);
  };
  put(0, year, 4);
  out[4] = '-';
  put(5, unsigned(ymd.month()), 2);
  out[7] = '-';
  put(8, unsigned(ymd.day()), 2);
  out[10] = 'T';
  put(11, sod / 3600, 2);
  out[13] = ':';
  put(14, (sod / 60) % 60, 2);
  out[16] = ':';
  put(17, sod % 60, 2);
  out[19] = '.';
  put(20, frac, 7);
  out[27] = 'Z';
  return out;
}

std::optional<int64_t> iso_to_filetime(std::string_view s) {
  size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (!read_digits(s, pos, 4, y) || pos >= s.size() || s[pos++] != '-') return std::nullopt;
  if (!read_digits(s, pos, 2, mo) || pos >= s.size() || s[pos++] != '-') return std::nullopt;
  if (!read_digits(s, pos, 2, d)) return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  int64_t frac_ticks = 0;
  int64_t offset_secs = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != ' ') return std::nullopt;
    ++pos;
    if (!read_digits(s, pos, 2, h) || pos >= s.size() || s[pos++] != ':') return std::nullopt;
    if (!read_digits(s, pos, 2, mi)) return std::nullopt;
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!read_digits(s, pos, 2, se)) return std::nullopt;
    }
    if (h > 23 || mi > 59 || se > 60) return std::nullopt;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      int digits = 0;
      while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
        if (digits < 7) frac_ticks = frac_ticks * 10 + (s[pos] - '0');
        ++digits;
        ++pos;
      }
      if (digits == 0) return std::nullopt;
      for (int i = digits; i < 7; ++i) frac_ticks *= 10;
    }
    if (pos < s.size()) {
      if (s[pos] == 'Z' && pos + 1 == s.size()) {
        ++pos;
      } else if (s[pos] == '+' || s[pos] == '-') {
        int sign = s[pos] == '-' ? -1 : 1;
        ++pos;
        int oh = 0, om = 0;
        if (!read_digits(s, pos, 2, oh)) return std::nullopt;
        if (pos < s.size() && s[pos] == ':') ++pos;
        if (!read_digits(s, pos, 2, om)) return std::nullopt;
        offset_secs = sign * (oh * 3600 + om * 60);
      }
    }
    if (pos != s.size()) return std::nullopt;
  }
  int64_t secs = days_from_civil(y, unsigned(mo), unsigned(d)) * 86400 + h * 3600 + mi * 60 + se -
                 offset_secs;
  return secs * kTicksPerSecond + frac_ticks + kFiletimeUnixEpochTicks;
}

}  // namespace treeline
