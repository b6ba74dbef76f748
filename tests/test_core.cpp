#include <catch2/catch.hpp>

#include <limits>

#include "core/event_catalog.hpp"
#include "core/text.hpp"
#include "core/time.hpp"

using namespace treeline;

TEST_CASE("PIDs and LogonIds: 4688 hex, padded hex, Sysmon decimal", "[core]") {
  CHECK(parse_windows_int("0x1d34") == 0x1d34);
  CHECK(parse_windows_int("0x0000000000000cd0") == 0xcd0);
  CHECK(parse_windows_int("0X3E7") == 0x3e7);
  CHECK(parse_windows_int("7476") == 7476);
  CHECK(parse_windows_int("0") == 0);
  CHECK(parse_windows_int(" 0x4 ") == 4);
  // A 64-bit LogonId with the top bit set keeps all of its bits.
  CHECK(static_cast<uint64_t>(*parse_windows_int("0xffffffffffffffff")) == 0xffffffffffffffffULL);
  CHECK_FALSE(parse_windows_int("-").has_value());
  CHECK_FALSE(parse_windows_int("").has_value());
  CHECK_FALSE(parse_windows_int("0x").has_value());
  CHECK_FALSE(parse_windows_int("12ab").has_value());
  CHECK_FALSE(parse_windows_int("0x12zz").has_value());
  CHECK_FALSE(parse_windows_int("0x1ffffffffffffffff").has_value());  // overflow is not a number
}

TEST_CASE("FILETIME to ISO 8601 UTC keeps 100 ns precision", "[core][time]") {
  CHECK(filetime_to_iso(kFiletimeUnixEpochTicks) == "1970-01-01T00:00:00.0000000Z");
  CHECK(filetime_to_iso(133064471216762812) == "2022-08-31T19:18:41.6762812Z");
  CHECK(filetime_to_iso(125911583999999999) == "1999-12-31T23:59:59.9999999Z");
  CHECK(filetime_to_iso(0) == "1601-01-01T00:00:00.0000000Z");
  CHECK(filetime_to_iso(-1) == "1600-12-31T23:59:59.9999999Z");
  // A damaged record's time at the limits is written, not overflowed (the fuzzer found INT64_MIN).
  CHECK(filetime_to_iso(std::numeric_limits<int64_t>::max()) == "30828-09-14T02:48:05.4775807Z");
  const std::string lowest = filetime_to_iso(std::numeric_limits<int64_t>::min());
  CHECK(lowest.front() == '-');
  CHECK(lowest.back() == 'Z');
}

TEST_CASE("ISO 8601 text parses back to FILETIME", "[core][time]") {
  CHECK(iso_to_filetime("2022-08-31T19:18:41.6762812Z") == 133064471216762812);
  CHECK(iso_to_filetime("2022-08-31T19:18:41.676281200Z") == 133064471216762812);  // libevtx's 9 digits
  CHECK(iso_to_filetime("1970-01-01") == kFiletimeUnixEpochTicks);
  CHECK(iso_to_filetime("1970-01-01 00:00") == kFiletimeUnixEpochTicks);
  CHECK(iso_to_filetime("1970-01-01T02:00:00+02:00") == kFiletimeUnixEpochTicks);
  CHECK_FALSE(iso_to_filetime("2022-13-01").has_value());
  CHECK_FALSE(iso_to_filetime("yesterday").has_value());
  CHECK_FALSE(iso_to_filetime("2022-08-31T19:18:41Zjunk").has_value());
  for (int64_t ft : {int64_t{133064471216762812}, int64_t{125911583999999999}, kFiletimeUnixEpochTicks + 1})
    CHECK(iso_to_filetime(filetime_to_iso(ft)) == ft);
}

TEST_CASE("Host short names join FQDN and short spellings", "[core]") {
  CHECK(host_short_name("WIN-DC01.corp.example.com") == "win-dc01");
  CHECK(host_short_name("win-dc01") == "win-dc01");
  CHECK(host_short_name("10.0.0.5") == "10.0.0.5");
  CHECK(host_short_name("") == "");
}

TEST_CASE("EventData names become snake_case columns", "[core]") {
  CHECK(snake_case("SubjectUserSid") == "subject_user_sid");
  CHECK(snake_case("NewProcessId") == "new_process_id");
  CHECK(snake_case("IpAddress") == "ip_address");
  CHECK(snake_case("LmPackageName") == "lm_package_name");
  CHECK(snake_case("UtcTime") == "utc_time");
}
