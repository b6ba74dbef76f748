#pragma once
// SIEM exports written by a test with known truth (Winlogbeat 7 / ECS lines), ingested and hunted
// by the binary: the fixtures of the built-in rules and of the story joins.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "support.hpp"

namespace treeline::test {

using Json = nlohmann::json;


// Winlogbeat 7 / ECS lines, as a SIEM exports them.
class Export {
 public:
  explicit Export(const std::string& path) : out_(path) {}

  void add(const std::string& host, double seconds, const std::string& channel, int event_id, Json data,
           const std::string& provider = "Microsoft-Windows-Security-Auditing", int execution_pid = -1) {
    static const int64_t kBase = *iso_to_filetime("2024-03-01T08:00:00Z");
    Json line;
    line["@timestamp"] = filetime_to_iso(kBase + static_cast<int64_t>(seconds * 1e7));
    line["winlog"] = {{"channel", channel}, {"event_id", event_id},       {"computer_name", host},
                      {"record_id", ++record_}, {"provider_name", provider}, {"event_data", std::move(data)}};
    if (execution_pid >= 0) line["winlog"]["process"] = {{"pid", execution_pid}};
    out_ << line.dump() << '\n';
  }
  void failed_logon(const std::string& host, double t, const std::string& user, const std::string& ip) {
    add(host, t, "Security", 4625,
        {{"TargetUserName", user}, {"TargetDomainName", "CORP"}, {"LogonType", "3"}, {"Status", "0xc000006d"},
         {"SubStatus", "0xc000006a"}, {"IpAddress", ip}, {"IpPort", "49832"}, {"ProcessId", "0x0"}});
  }
  void kerberos_failed(const std::string& host, double t, const std::string& user, const std::string& ip,
                       const std::string& status = "0x18") {
    add(host, t, "Security", 4771,
        {{"TargetUserName", user}, {"TargetSid", "S-1-5-21-1-1105"}, {"ServiceName", "krbtgt/CORP"},
         {"Status", status}, {"PreAuthType", "2"}, {"IpAddress", ip}, {"IpPort", "50100"}});
  }
  void explicit_credentials(const std::string& host, double t, const std::string& user, const std::string& server,
                            const std::string& pid, const std::string& image) {
    add(host, t, "Security", 4648,
        {{"SubjectUserName", "alice"}, {"SubjectDomainName", "CORP"}, {"SubjectLogonId", "0x5a3c1"},
         {"TargetUserName", user}, {"TargetDomainName", "CORP"}, {"TargetServerName", server},
         {"ProcessId", pid}, {"ProcessName", image}, {"IpAddress", "-"}});
  }
  void logon(const std::string& host, double t, const std::string& user, int type, const std::string& process,
             const std::string& package, const std::string& key_length) {
    add(host, t, "Security", 4624,
        {{"TargetUserName", user}, {"TargetDomainName", "CORP"}, {"TargetLogonId", fmt::format("0x{:x}", ++logon_)},
         {"LogonType", std::to_string(type)}, {"LogonProcessName", process},
         {"AuthenticationPackageName", package}, {"KeyLength", key_length}, {"IpAddress", "10.0.0.50"}});
  }

 private:
  std::ofstream out_;
  int64_t record_ = 0;
  int64_t logon_ = 0x10000;
};

struct Hunted {
  test::TempDir dir;
  std::string db;
  test::RunResult hunt;
};

// Ingests what `write` exports and hunts: with the built-in rules, or with only `sigma` (the
// text of a Sigma rule file) when it is given.
template <typename Write>
void hunt_export(Hunted& h, Write write, const std::string& sigma = "") {
  const std::string log = h.dir.file("siem.json");
  {
    Export e(log);
    write(e);
  }
  h.db = h.dir.file("case.db");
  auto ingest = test::run_treeline({"ingest", "-q", h.db, log});
  INFO(ingest.err);
  REQUIRE(ingest.exit_code == 0);
  std::vector<std::string> args = {"hunt", h.db, "--format", "json"};
  if (!sigma.empty()) {
    std::ofstream(h.dir.file("rules.yml")) << sigma;
    args.insert(args.end(), {"--no-builtin", "--sigma", h.dir.file("rules.yml")});
  }
  h.hunt = test::run_treeline(args);
  INFO(h.hunt.err);
  REQUIRE(h.hunt.exit_code == 0);
}

inline int64_t count(const Hunted& h, const std::string& where) {
  return test::scalar(h.db, "SELECT count(*) FROM findings_v WHERE " + where);
}


}  // namespace treeline::test
