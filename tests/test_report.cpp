#include <catch2/catch.hpp>

#include <sstream>

#include "report/format.hpp"

using namespace treeline;
using report::csv_field;

TEST_CASE("CSV fields follow RFC 4180 and neutralize formulas", "[report][csv]") {
  CHECK(csv_field(Cell{std::string("plain")}) == "plain");
  CHECK(csv_field(Cell{std::string("a,b")}) == "\"a,b\"");
  CHECK(csv_field(Cell{std::string("say \"hi\"")}) == "\"say \"\"hi\"\"\"");
  CHECK(csv_field(Cell{std::string("two\nlines")}) == "\"two\nlines\"");
  CHECK(csv_field(Cell{std::string("=cmd|' /C calc'!A0")}) == "'=cmd|' /C calc'!A0");
  CHECK(csv_field(Cell{std::string("+1")}) == "'+1");
  CHECK(csv_field(Cell{std::string("@SUM(A1)")}) == "'@SUM(A1)");
  CHECK(csv_field(Cell{std::string("-enc AAAA")}) == "'-enc AAAA");
  CHECK(csv_field(Cell{std::string("-")}) == "-");  // Windows' "no value" is not a formula
  CHECK(csv_field(Cell{int64_t{-5}}) == "-5");      // numbers stay numbers
  CHECK(csv_field(Cell{}) == "");
}

TEST_CASE("Table output aligns and cuts long cells on code points", "[report][table]") {
  Table t;
  t.columns = {"pid", "image"};
  t.rows.push_back({int64_t{4}, std::string("System")});
  t.rows.push_back({int64_t{1234}, std::string("C:\\Users\\ä\\very-long-name.exe")});
  std::ostringstream out;
  report::write_table(out, t, report::Format::kTable, {12});
  std::string s = out.str();
  CHECK_THAT(s, Catch::Contains("   4  System"));
  CHECK_THAT(s, Catch::Contains("1234  C:\\Users\\ä\\…"));
  CHECK(report::display_width("C:\\Users\\ä\\…") == 12);
}

TEST_CASE("JSON output keeps types and survives invalid UTF-8", "[report][json]") {
  Table t;
  t.columns = {"n", "s", "z"};
  t.rows.push_back({int64_t{7}, std::string("bad \xff byte"), Cell{}});
  std::ostringstream out;
  report::write_table(out, t, report::Format::kJson);
  CHECK_THAT(out.str(), Catch::Contains("\"n\": 7") && Catch::Contains("\"z\": null") && Catch::Contains("bad "));
}
