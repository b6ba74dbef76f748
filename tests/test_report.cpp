#include <catch2/catch.hpp>

#include <sstream>

#include "core/text.hpp"
#include "report/format.hpp"
#include "report/summary.hpp"

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

TEST_CASE("Table output aligns and cuts long cells in the middle, on code points", "[report][table]") {
  Table t;
  t.columns = {"pid", "image"};
  t.rows.push_back({int64_t{4}, std::string("System")});
  t.rows.push_back({int64_t{1234}, std::string("C:\\Users\\ä\\very-long-name.exe")});
  std::ostringstream out;
  report::write_table(out, t, report::Format::kTable, {12});
  std::string s = out.str();
  CHECK_THAT(s, Catch::Contains("   4  System"));
  CHECK_THAT(s, Catch::Contains("1234  C:\\Use…e.exe"));
  CHECK(display_width("C:\\Use…e.exe") == 12);
}

TEST_CASE("A table that must shrink keeps its times and numbers whole and cuts the text", "[report][table]") {
  Table t;
  t.columns = {"time_utc", "pid", "command_line"};
  t.rows.push_back({std::string("2024-01-01T10:00:00.1234567Z"), int64_t{123456},
                    std::string("C:\\Windows\\System32\\cmd.exe /c whoami /all > C:\\Users\\Public\\out.txt")});
  std::ostringstream out;
  report::write_table(out, t, report::Format::kTable, {80, 60});
  std::string s = out.str();
  CHECK_THAT(s, Catch::Contains("2024-01-01T10:00:00.1234567Z  123456  "));
  CHECK_THAT(s, Catch::Contains("…"));  // the command line gave the room
  for (size_t at = 0, nl; (nl = s.find('\n', at)) != std::string::npos; at = nl + 1)
    CHECK(display_width(s.substr(at, nl - at)) <= 60);
}

TEST_CASE("A cut keeps the file name of a path and the last arguments of a command line", "[report][cut]") {
  std::string cmd = "\"C:\\Windows\\System32\\wevtutil.exe\" cl Security";
  CHECK(cut_middle(cmd, 0) == cmd);
  CHECK(cut_middle(cmd, cmd.size()) == cmd);
  std::string cut = cut_middle(cmd, 30);
  CHECK(display_width(cut) == 30);
  CHECK_THAT(cut, Catch::StartsWith("\"C:\\Windows\\S") && Catch::EndsWith("cl Security"));
  CHECK(cut_middle("ääääää", 3) == "ä…ä");
  CHECK(cut_middle("abc", 1) == "…");
  CHECK(cut_end("abcdef", 4) == "abc…");
  CHECK(base_name("C:\\Windows\\cmd.exe") == "cmd.exe");
  CHECK(base_name("/usr/bin/sh") == "sh");
}

TEST_CASE("JSON output keeps types and survives invalid UTF-8", "[report][json]") {
  Table t;
  t.columns = {"n", "s", "z"};
  t.rows.push_back({int64_t{7}, std::string("bad \xff byte"), Cell{}});
  std::ostringstream out;
  report::write_table(out, t, report::Format::kJson);
  CHECK_THAT(out.str(), Catch::Contains("\"n\":7") && Catch::Contains("\"z\":null") && Catch::Contains("bad "));
}

TEST_CASE("Summary templates: fields by name, optional parts left out, one line, arrays joined", "[report][summary]") {
  using treeline::report::SummaryTemplate;
  auto t = SummaryTemplate::parse("service {ServiceName}: {ImagePath}[ ({StartType}, {AccountName})]");
  CHECK(t.render(R"({"ServiceName":"evil","ImagePath":"C:\\x.exe","StartType":"auto start","AccountName":"LocalSystem"})") ==
        "service evil: C:\\x.exe (auto start, LocalSystem)");
  // A missing or "-" field drops its optional group, not the line.
  CHECK(t.render(R"({"ServiceName":"evil","ImagePath":"C:\\x.exe","StartType":"-"})") == "service evil: C:\\x.exe");
  auto f = SummaryTemplate::parse("{TargetDomainName}\\{TargetUserName}[ from {IpAddress}][ ({SubStatus})]");
  CHECK(f.render(R"({"TargetDomainName":"CORP","TargetUserName":"alice","IpAddress":"10.0.0.5","SubStatus":"0xc000006a"})") ==
        "CORP\\alice from 10.0.0.5 (0xc000006a)");
  auto s = SummaryTemplate::parse("script: {ScriptBlockText}");
  CHECK(s.render(R"({"ScriptBlockText":"line one\r\n\t  line two"})") == "script: line one line two");
  auto a = SummaryTemplate::parse("{Data}");
  CHECK(a.render(R"({"Data":["a","","b"]})") == "a, b");
  // No field at all, bad JSON: no summary.
  CHECK(t.render(R"({"Other":"x"})").empty());
  CHECK(t.render("not json").empty());
  // Long values are cut to the summary width.
  std::string long_json = R"({"ScriptBlockText":")" + std::string(1000, 'x') + R"("})";
  CHECK(treeline::display_width(s.render(long_json)) <= treeline::report::kSummaryWidth);
  // The shipped templates parse, and the events the issue names have one.
  CHECK(treeline::report::find_summary("System", 7045) != nullptr);
  CHECK(treeline::report::find_summary("Security", 4625) != nullptr);
  CHECK(treeline::report::find_summary("Security", 4688) == nullptr);
}
