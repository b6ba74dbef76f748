// KQL: every construct, on a toy `ecs` table whose rows say what should match, and the grammar of
// Kibana's documented examples (Kibana Query Language, elastic.co/guide/en/kibana/current/kuery-query.html).
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "report/kql.hpp"
#include "store/query.hpp"
#include "support.hpp"

using namespace treeline;

namespace {

// The rows: _key, event.code, winlog.channel, message, process.pid, threat.technique.id,
// process.command_line, _data, @timestamp.
struct Toy {
  test::TempDir dir;
  store::Db db = *store::Db::open(dir.file("toy.db"), store::Db::Mode::kCreate);
  Toy() {
    REQUIRE(db.exec(R"sql(
      CREATE TABLE ecs ("_key" INTEGER, "event.code" TEXT, "winlog.channel" TEXT, "message" TEXT, "process.pid" INTEGER,
        "threat.technique.id" TEXT, "process.command_line" TEXT, "_data" TEXT, "@timestamp" TEXT,
        "event.action" TEXT, "host.name" TEXT, "process.executable" TEXT, "process.entity_id" TEXT, "user.name" TEXT,
        "rule.id" TEXT, "rule.name" TEXT, "log.id" TEXT);
      INSERT INTO ecs ("_key", "event.code", "winlog.channel", "message", "process.pid", "threat.technique.id",
                       "process.command_line", "_data", "@timestamp") VALUES
        (1, '4688', 'Security', 'Process created: LSASS dump', 624, 'T1003.001,T1003',
         'rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump 624 C:\x.dmp full',
         '{"NewProcessName":"C:\\Windows\\System32\\rundll32.exe","Weird Name":"a*b"}', '2024-05-14T09:06:01.0000000Z'),
        (2, '4688', 'Security', 'Process created: cmd', 1000, NULL, 'cmd.exe /c "hgl_run.cmd"',
         '{"NewProcessName":"C:\\Windows\\System32\\cmd.exe"}', '2024-05-14T09:05:00.0000000Z'),
        (3, '4624', 'Security', 'An account logged on', NULL, NULL, NULL, '{"LogonType":"3"}', '2024-05-15T00:00:00.0000000Z'),
        (4, '1', 'Microsoft-Windows-Sysmon/Operational', 'quick brown fox', 4, NULL, 'C:\Tools\50%_off[1].exe', NULL,
         '2024-05-16T12:00:00.0000000Z');
    )sql"));
  }
  std::set<int64_t> keys(const std::string& kql) {
    auto t = report::kql::translate(kql);
    INFO(kql << ": " << (t ? "" : t.error().message));
    REQUIRE(t);
    auto table = store::run_query(db, "SELECT \"_key\" FROM ecs WHERE " + t->where, t->params);
    INFO(report::kql::explain(*t, false));
    REQUIRE(table);
    std::set<int64_t> out;
    for (const auto& row : table->rows) out.insert(std::get<int64_t>(row[0]));
    return out;
  }
};

using Keys = std::set<int64_t>;

}  // namespace

TEST_CASE("KQL: field:value, phrases and wildcards on keyword fields are case-sensitive", "[kql]") {
  Toy t;
  CHECK(t.keys("event.code:4688") == Keys{1, 2});
  CHECK(t.keys("winlog.channel:\"Security\"") == Keys{1, 2, 3});
  CHECK(t.keys("winlog.channel:security").empty());  // keyword: exact case
  CHECK(t.keys("process.command_line:*MiniDump*") == Keys{1});
  CHECK(t.keys("process.command_line:*minidump*").empty());
  CHECK(t.keys("process.command_line:cmd.exe*") == Keys{2});
  CHECK(t.keys("process.command_line:cmd.ex?*") == Keys{2});  // ? is one character
  CHECK(t.keys("process.command_line:\"cmd.exe*\"").empty());  // in quotes * is a star
  // Escapes: \\ a backslash, \* a star, \: a colon, \( a parenthesis; % _ [ are literal.
  CHECK(t.keys("process.command_line:*C\\:\\\\Windows\\\\System32\\\\comsvcs.dll*") == Keys{1});
  CHECK(t.keys("process.command_line:*50%_off\\[1\\].exe") == Keys{4});
  CHECK(t.keys("process.command_line:*50%_off[1].exe") == Keys{4});
  CHECK(t.keys("process.command_line:*\\\"hgl_run.cmd\\\"") == Keys{2});
  CHECK(t.keys("winlog.event_data.NewProcessName:*\\\\rundll32.exe") == Keys{1});
  CHECK(t.keys("winlog.event_data.Weird Name:a\\*b") == Keys{1});  // a field name may hold spaces; \* is a star
}

TEST_CASE("KQL: message is text: case-insensitive, a term or phrase anywhere", "[kql]") {
  Toy t;
  CHECK(t.keys("message:lsass") == Keys{1});
  CHECK(t.keys("message:\"BROWN fox\"") == Keys{4});
  CHECK(t.keys("message:quick brown fox") == Keys{4});  // an unquoted value may hold spaces
  CHECK(t.keys("message:(*lsass* or *cmd*)") == Keys{1, 2});
}

TEST_CASE("KQL: and, or, not, parentheses and value lists", "[kql]") {
  Toy t;
  CHECK(t.keys("event.code:4688 and process.pid:1000") == Keys{2});
  CHECK(t.keys("event.code:4624 or process.pid:4") == Keys{3, 4});
  CHECK(t.keys("event.code:4688 AND NOT process.pid:1000") == Keys{1});
  CHECK(t.keys("not process.pid:624") == Keys{2, 3, 4});  // a document without the field is "not" it
  CHECK(t.keys("(event.code:4624 or event.code:1) and not message:fox") == Keys{3});
  CHECK(t.keys("event.code:(4624 or 1)") == Keys{3, 4});
  CHECK(t.keys("process.command_line:(*MiniDump* and *comsvcs*)") == Keys{1});
  CHECK(t.keys("process.command_line:(not *MiniDump*)") == Keys{2, 3, 4});
  CHECK(t.keys("event.code:4688 or event.code:4624 and process.pid:624") == Keys{1, 2});  // and binds tighter
}

TEST_CASE("KQL: ranges on numbers and dates, exists, nested groups, bare values and list fields", "[kql]") {
  Toy t;
  CHECK(t.keys("process.pid >= 624") == Keys{1, 2});
  CHECK(t.keys("process.pid < 624") == Keys{4});
  CHECK(t.keys("@timestamp > 2024-05-15") == Keys{3, 4});
  CHECK(t.keys("@timestamp <= \"2024-05-14T09:05:00.0000000Z\"") == Keys{2});
  CHECK(t.keys("@timestamp:2024-05-14") == Keys{1, 2});  // a day
  CHECK(t.keys("process.command_line:*") == Keys{1, 2, 4});
  CHECK(t.keys("winlog:{ channel:Security and event_data.LogonType:3 }") == Keys{3});
  CHECK(t.keys("fox") == Keys{4});
  CHECK(t.keys("\"Process created\"") == Keys{1, 2});
  CHECK(t.keys("threat.technique.id:T1003") == Keys{1});
  CHECK(t.keys("threat.technique.id:T1003.*") == Keys{1});
  CHECK(t.keys("threat.technique.id:T1003.00").empty());
}

TEST_CASE("KQL: a syntax error names its column, and an unknown field is a warning that matches nothing", "[kql]") {
  auto e = report::kql::translate("event.code:4688 and (process.pid:1");
  REQUIRE_FALSE(e);
  CHECK(e.error().code == ErrorCode::kUsage);
  CHECK(e.error().message == "KQL: column 35: expected ')'");
  CHECK(report::kql::translate("event.code:").error().message == "KQL: column 12: expected a value after 'event.code:'");
  CHECK(report::kql::translate("message:\"open").error().message.find("not closed") != std::string::npos);
  CHECK(report::kql::translate("process.pid > many").error().message.find("not a number") != std::string::npos);
  CHECK_FALSE(report::kql::translate(""));
  auto w = report::kql::translate("no.such.field:1");
  REQUIRE(w);
  CHECK(w->warnings.size() == 1);
  Toy t;
  CHECK(t.keys("no.such.field:1").empty());
  CHECK(t.keys("not no.such.field:1") == Keys{1, 2, 3, 4});
}

TEST_CASE("KQL: Kibana's documented examples parse", "[kql]") {
  // From the Kibana Query Language page of Kibana's guide (kuery-query), field names as written.
  for (const char* example : {"http.response.status_code:400",
                              "http.request.method:GET",
                              "http.response.body.content.text:\"quick brown fox\"",
                              "http.response.status_code:(400 or 401 or 404)",
                              "http.request.method:*",
                              "not http.request.method:GET",
                              "http.request.method: GET OR http.response.status_code: 400",
                              "http.request.method: GET AND http.response.status_code: 400",
                              "(http.request.method: GET AND http.response.status_code: 200) OR "
                              "(http.request.method: POST AND http.response.status_code: 400)",
                              "http.request.method: (GET OR POST OR DELETE)",
                              "http.request.referrer: \"https://example.com\"",
                              "http.request.referrer: https\\://example.com",
                              "account_number >= 100 and items_sold <= 200",
                              "machine.os:win*",
                              "items:{ name:banana and stock > 9 }",
                              "user.name: \"Jane \\\"JD\\\" Doe\""}) {
    auto t = report::kql::translate(example);
    INFO(example << ": " << (t ? "" : t.error().message));
    CHECK(t);
  }
  // The nested group reads as items.name and items.stock.
  auto nested = report::kql::translate("items:{ name:banana and stock > 9 }");
  REQUIRE(nested);
  CHECK(nested->warnings == std::vector<std::string>{"no document has the field 'items.name': it matches nothing",
                                                     "no document has the field 'items.stock': it matches nothing"});
}
