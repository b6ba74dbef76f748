// The bulk benchmark log: a busy server's Security log with consistent parents (generate_bulk).
#include <fmt/format.h>

#include <deque>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "events.hpp"
#include "scenario.hpp"

namespace treeline::gen {
namespace {

std::string hex(int64_t v) { return fmt::format("0x{:x}", v); }

}  // namespace

GenerateResult generate_bulk(size_t events, const std::string& out_path, uint32_t seed) {
  std::mt19937 rng(seed);
  EvtxWriter w;
  int64_t t = *iso_to_filetime("2024-06-03T00:00:00Z");
  const std::string computer = "SRV-APP01.corp.example.com";
  std::vector<std::pair<int64_t, std::string>> live = {{4, "System"}};
  std::set<int64_t> used = {4};
  std::deque<int64_t> released;
  int64_t next_pid = 4;
  const std::vector<std::string> images = {"C:\\Windows\\System32\\svchost.exe", "C:\\Windows\\System32\\conhost.exe",
                                           "C:\\Windows\\System32\\cmd.exe", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                                           "C:\\Program Files\\App\\worker.exe", "C:\\Windows\\System32\\rundll32.exe"};
  std::vector<int64_t> sessions = {0x3e7};
  GenerateResult r;
  auto write = [&](const char* channel, uint32_t id, int version, const std::map<std::string, std::string>& d) {
    const EventDef& def = event_def(channel, id, version);
    uint64_t rid = ++r.records;
    w.add(def.tmpl, event_values(def, rid, t, computer, 4, 200, d), rid, t);
  };
  while (r.records < events) {
    t += 200'000 + rng() % 400'000;  // 20-60 ms apart
    auto roll = static_cast<unsigned>(rng() % 100);
    if (roll < 12 || live.size() < 3) {
      int64_t pid;
      if (released.size() > 16) { pid = released.front(); released.pop_front(); }
      else pid = (next_pid += 4);
      auto& parent = live[rng() % live.size()];
      std::string image = images[rng() % images.size()];
      int64_t logon = sessions[rng() % sessions.size()];
      write("Security", 4688, 2,
            {{"SubjectUserSid", "S-1-5-18"}, {"SubjectUserName", "SRV-APP01$"}, {"SubjectDomainName", "CORP"},
             {"SubjectLogonId", hex(logon)}, {"NewProcessId", hex(pid)}, {"NewProcessName", image},
             {"TokenElevationType", "%%1936"}, {"ProcessId", hex(parent.first)}, {"CommandLine", image + " -k netsvcs"},
             {"TargetUserSid", "S-1-0-0"}, {"TargetLogonId", "0x0"}, {"ParentProcessName", parent.second},
             {"MandatoryLabel", "S-1-16-16384"}});
      live.emplace_back(pid, image);
    } else if (roll < 24 && live.size() > 3) {
      size_t k = 1 + rng() % (live.size() - 1);
      write("Security", 4689, 0,
            {{"SubjectUserSid", "S-1-5-18"}, {"SubjectUserName", "SRV-APP01$"}, {"SubjectDomainName", "CORP"},
             {"SubjectLogonId", "0x3e7"}, {"Status", "0x0"}, {"ProcessId", hex(live[k].first)}, {"ProcessName", live[k].second}});
      released.push_back(live[k].first);
      live.erase(live.begin() + static_cast<long>(k));
    } else if (roll < 30) {
      int64_t id = 0x100000 + static_cast<int64_t>(rng() % 0xfffff);
      sessions.push_back(id);
      if (sessions.size() > 50) sessions.erase(sessions.begin() + 1);
      write("Security", 4624, 2,
            {{"SubjectUserSid", "S-1-5-18"}, {"SubjectUserName", "SRV-APP01$"}, {"SubjectDomainName", "CORP"},
             {"SubjectLogonId", "0x3e7"}, {"TargetUserSid", "S-1-5-21-1-2-3-1105"}, {"TargetUserName", "svc_app"},
             {"TargetDomainName", "CORP"}, {"TargetLogonId", hex(id)}, {"LogonType", "3"}, {"LogonProcessName", "Kerberos"},
             {"AuthenticationPackageName", "Kerberos"}, {"IpAddress", fmt::format("10.1.{}.{}", rng() % 8, rng() % 250)},
             {"IpPort", "0"}, {"ElevatedToken", "%%1843"}, {"TargetLinkedLogonId", "0x0"}});
    } else if (roll < 35) {
      write("Security", 4634, 0,
            {{"TargetUserSid", "S-1-5-21-1-2-3-1105"}, {"TargetUserName", "svc_app"}, {"TargetDomainName", "CORP"},
             {"TargetLogonId", hex(sessions.back())}, {"LogonType", "3"}});
    } else if (roll < 40) {
      write("Security", 4672, 0,
            {{"SubjectUserSid", "S-1-5-18"}, {"SubjectUserName", "SYSTEM"}, {"SubjectDomainName", "NT AUTHORITY"},
             {"SubjectLogonId", "0x3e7"}, {"PrivilegeList", "SeAssignPrimaryTokenPrivilege"}});
    } else {
      write("Security", 5156, 1,
            {{"ProcessID", std::to_string(live[rng() % live.size()].first)}, {"Application", "\\device\\harddiskvolume2\\windows\\system32\\svchost.exe"},
             {"Direction", "%%14593"}, {"SourceAddress", "10.0.0.5"}, {"SourcePort", std::to_string(49152 + rng() % 16000)},
             {"DestAddress", fmt::format("10.2.{}.{}", rng() % 8, rng() % 250)}, {"DestPort", "443"}, {"Protocol", "6"},
             {"FilterRTID", "0"}, {"LayerName", "%%14611"}, {"LayerRTID", "48"}, {"RemoteUserID", "S-1-0-0"},
             {"RemoteMachineID", "S-1-0-0"}});
    }
  }
  auto bytes = w.finish();
  std::ofstream out(out_path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  r.files = 1;
  return r;
}

}  // namespace treeline::gen
