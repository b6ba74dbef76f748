// The story joins' pure parts: task XML, the engine events' fields, addresses, and the
// cross-host matching with its clock offsets and ambiguity, without SQLite.
#include <catch2/catch.hpp>

#include "graph/powershell_events.hpp"
#include "graph/remote_logons.hpp"
#include "graph/tasks.hpp"
#include "report/story.hpp"

using namespace treeline;
using namespace treeline::graph;

TEST_CASE("Task XML gives the command, arguments, triggers and principal, and a damaged one says why", "[graph][story]") {
  const TaskDefinition t = parse_task_xml(
      "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">"
      "<Triggers><BootTrigger><Enabled>true</Enabled></BootTrigger><CalendarTrigger/></Triggers>"
      "<Principals><Principal id=\"Author\"><UserId>S-1-5-18</UserId><RunLevel>HighestAvailable</RunLevel></Principal></Principals>"
      "<Actions Context=\"Author\"><Exec><Command>%windir%\\system32\\cmd.exe</Command><Arguments>/c C:\\x.bat</Arguments></Exec>"
      "<ComHandler><ClassId>{1}</ClassId></ComHandler></Actions></Task>");
  CHECK(t.error.empty());
  CHECK(t.command == "%windir%\\system32\\cmd.exe");
  CHECK(t.arguments == "/c C:\\x.bat");
  CHECK(t.triggers == std::vector<std::string>{"BootTrigger", "CalendarTrigger"});
  CHECK(t.actions == 2);
  CHECK(t.run_as == "S-1-5-18");
  CHECK(t.run_level == "HighestAvailable");
  const TaskDefinition cut = parse_task_xml("<Task><Actions><Exec><Command>evil.exe</Comm");
  CHECK_FALSE(cut.error.empty());
  CHECK(cut.error.find("offset") != std::string::npos);
  CHECK(parse_task_xml("").error.empty());  // 4699 carries none
  CHECK(parse_task_xml("<Other/>").error == "task XML has no <Task> element");
}

TEST_CASE("Engine event fields end at their line's CRLF, not at a bare newline inside the value", "[graph][story]") {
  const std::string text =
      "\tNewEngineState=Available\r\n\tHostName=ConsoleHost\r\n\tHostApplication=powershell.exe & {a\nb}\r\n\tEngineVersion=5.1";
  CHECK(engine_field(text, "HostApplication") == "powershell.exe & {a\nb}");
  CHECK(engine_field(text, "HostName") == "ConsoleHost");
  CHECK(engine_field("        Host Application = C:\\pwsh.exe\r\n        Command Name = Add-Type\r\n", "Host Application") ==
        "C:\\pwsh.exe");
  CHECK(engine_field(text, "Missing").empty());
  CHECK(engine_field("\tXHostName=no\r\n", "HostName").empty());  // a key inside another key is not it
}

TEST_CASE("Addresses: loopback, unspecified, multicast and broadcast name no host, and mapped IPv4 is IPv4", "[graph][story]") {
  CHECK(normalize_address("::ffff:10.0.0.21") == "10.0.0.21");
  CHECK(normalize_address(" FE80::1 ") == "fe80::1");
  for (const char* none : {"-", "", "127.0.0.1", "::1", "0:0:0:0:0:0:0:1", "0.0.0.0", "224.0.0.252", "172.18.255.255", "ff02:0:0:0:0:0:1:3"})
    CHECK(normalize_address(none).empty());
  AddressBook book;
  book.add("10.0.0.21", "ws01");
  book.add("10.0.0.99", "ws01");
  book.add("10.0.0.99", "ws02");  // DHCP handed it to both in the case's span
  CHECK(book.host_of("10.0.0.21") == "ws01");
  CHECK(book.host_of("10.0.0.99").empty());
  CHECK(book.ambiguous("10.0.0.99"));
}

namespace {

constexpr int64_t kS = 10'000'000;
RemoteLogon logon(const std::string& key, int64_t t, const std::string& address = "10.0.0.21", int type = 3) {
  return RemoteLogon{key, "srv02", t * kS, type, "alice", address, ""};
}
RemoteEvidence connection(const std::string& process, double t, int port = 445) {
  return RemoteEvidence{EvidenceKind::kNetworkConnection, "ws01", "srv02", static_cast<int64_t>(t * kS), process, "", port};
}

}  // namespace

TEST_CASE("Cross-host matching: the offset is estimated, the strongest evidence decides, ties link nothing", "[graph][story]") {
  AddressBook book;
  book.add("10.0.0.21", "ws01");
  const std::set<std::string> hosts = {"ws01", "srv02"};
  // srv02's clock runs 30 s ahead: outside every window without the offset.
  std::vector<RemoteLogon> logons = {logon("a", 1030), logon("b", 2030), logon("c", 3030), logon("d", 4030, "-"),
                                     logon("e", 5030, "203.0.113.9"), logon("f", 6031, "10.0.0.21", 10)};
  std::vector<RemoteEvidence> evidence = {
      connection("p1", 1000), connection("p2", 2000),
      // c: a 4648 beats a connection by another process at the same moment.
      {EvidenceKind::kExplicitCredentials, "ws01", "srv02", 3000 * kS, "p3", "alice", 0}, connection("p4", 3000),
      // d: no address (WinRM); two processes connect at the same moment: nothing is linked.
      connection("p5", 4000, 5985), connection("p6", 4000.5, 5985),
      // f: RDP needs 3389; the 445 connection does not count.
      connection("p7", 6000, 445), connection("p8", 6001, 3389)};
  std::vector<ClockOffset> offsets;
  auto links = match_remote_logons(logons, evidence, hosts, book, offsets);
  REQUIRE(links.size() == 6);
  REQUIRE(offsets.size() == 1);
  CHECK(offsets[0].offset_seconds == Approx(30.0));
  CHECK(links[0].process_key == "p1");
  CHECK(links[0].method == "network_connection");
  CHECK(links[1].process_key == "p2");
  CHECK(links[2].process_key == "p3");
  CHECK(links[2].method == "explicit_credentials");
  CHECK(links[3].process_key.empty());
  CHECK(links[3].candidates == std::vector<std::string>{"p5", "p6"});
  CHECK(links[3].source_host == "ws01");
  CHECK(links[4].source_host.empty());
  CHECK(links[4].why_not == "203.0.113.9 is not an address of a host in the case");
  CHECK(links[5].process_key == "p8");
  CHECK(links[5].confidence == Approx(0.9));
}

TEST_CASE("A script's preview keeps its first lines and counts the rest", "[report][story]") {
  CHECK(report::script_preview("a\n\n  b\r\nc\nd\ne\n", 3) == "a ⏎ b ⏎ c (+2 more lines)");
  CHECK(report::script_preview("one", 3) == "one");
  CHECK(report::script_preview("", 3).empty());
}
