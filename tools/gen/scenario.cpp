#include "scenario.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>

#include "core/text.hpp"
#include "core/time.hpp"
#include "events.hpp"
#include "generator.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace treeline::gen::detail {

Host& Generator::host(const std::string& name) {
  auto it = hosts_.find(name);
  if (it == hosts_.end()) throw std::runtime_error("scenario names an undeclared host: " + name);
  return it->second;
}

// Windows hands out PIDs in multiples of 4 and reuses freed ones soon after.
int64_t Generator::allocate_pid(Host& h) {
  if (!h.pool.empty()) {
    std::vector<int64_t> free;
    for (int64_t p : h.pool)
      if (!h.in_use.count(p)) free.push_back(p);
    if (free.empty()) throw std::runtime_error("PID pool of " + h.name + " is exhausted");
    int64_t p = free[rng_() % free.size()];
    h.in_use.insert(p);
    return p;
  }
  int64_t p;
  if (h.released.size() > 8) {
    p = h.released.front();
    h.released.pop_front();
  } else {
    h.next_pid += 4;
    p = h.next_pid;
  }
  h.in_use.insert(p);
  return p;
}

void Generator::release_pid(Host& h, int64_t pid) {
  h.in_use.erase(pid);
  if (h.pool.empty()) h.released.push_back(pid);
}

const Session& Generator::session(const std::string& id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) throw std::runtime_error("scenario names an unknown session: " + id);
  return it->second;
}

// A record as the host writes it: stamped by its own clock.
uint64_t Generator::emit(Host& h, const std::string& log, const std::string& channel, uint32_t id, int version, int64_t t,
                         const std::map<std::string, std::string>& data, uint32_t execution_pid) {
  LogFile& f = h.logs[log];
  f.name = log;
  const EventDef& def = event_def(channel, id, version);
  uint64_t rid = f.next_record_id++;
  t += h.clock_offset;
  f.records.emplace_back(&def, event_values(def, rid, t, h.computer, execution_pid, 100 + static_cast<uint32_t>(rid % 900), data),
                         rid, t);
  return rid;
}

const Process& Generator::process(const std::string& id) const {
  auto it = processes_.find(id);
  if (it == processes_.end()) throw std::runtime_error("scenario names an unknown process: " + id);
  return it->second;
}

void Generator::load(const json& s) {
  start_ = *iso_to_filetime(s.at("start").get<std::string>());
  for (const auto& [name, j] : s.at("hosts").items()) {
    Host h;
    h.name = name;
    h.computer = j.value("computer", name);
    h.process_version = j.value("process_version", 2);
    h.command_line = j.value("command_line", true);
    h.exits = j.value("exits", true);
    h.sysmon = j.value("sysmon", false);
    h.clock_offset = static_cast<int64_t>(j.value("clock_offset", 0.0) * kTick);
    h.ip = j.value("ip", "");
    if (j.contains("process_auditing_from")) h.audit_from = start_ + static_cast<int64_t>(j.at("process_auditing_from").get<double>() * kTick);
    if (j.contains("pid_pool")) {
      int n = j.at("pid_pool").get<int>();
      for (int i = 0; i < n; ++i) h.pool.push_back(1000 + 4 * i);
    }
    hosts_.emplace(name, std::move(h));
  }
  sessions_["system"] = Session{"system", 0x3e7, "SYSTEM", "NT AUTHORITY", "S-1-5-18", 0, true, true};
  sessions_["local_service"] = Session{"local_service", 0x3e5, "LOCAL SERVICE", "NT AUTHORITY", "S-1-5-19", 5, false, false};
  sessions_["network_service"] = Session{"network_service", 0x3e4, "NETWORK SERVICE", "NT AUTHORITY", "S-1-5-20", 5, false, false};
}

void Generator::boot(Host& h, int64_t t) {
  // Everything dies with the machine; PIDs start over.
  for (auto& [id, p] : processes_)
    if (p.host == h.name) p.alive = false;
  h.in_use.clear();
  h.released.clear();
  // After a boot the first PIDs handed out sit a little above System's 4.
  h.next_pid = 4 * (60 + static_cast<int64_t>(rng_() % 40));
  ++h.boot;
  emit(h, "Security", "Security", 4608, 0, t, {});
}

void Generator::spawn(Host& h, const json& j, int64_t t, bool log_it) {
  Process p;
  p.id = j.at("id").get<std::string>();
  if (processes_.count(p.id)) throw std::runtime_error("process id used twice: " + p.id);
  p.host = h.name;
  p.image = j.at("image").get<std::string>();
  // With command-line auditing on, Windows always writes one; a bare image path is the least.
  p.cmd = j.value("cmd", p.image);
  p.parent = j.value("parent", "");
  const Process* parent = nullptr;
  if (!p.parent.empty()) {
    auto it = processes_.find(p.parent);
    if (it == processes_.end()) throw std::runtime_error("unknown parent " + p.parent + " of " + p.id);
    if (!it->second.alive) throw std::runtime_error("parent " + p.parent + " of " + p.id + " is not running");
    parent = &it->second;
  }
  // A child runs with its creator's token: the parent's elevated token when it had one.
  std::string inherited = parent ? (parent->run_as.empty() ? parent->session : parent->run_as) : std::string("system");
  p.session = j.value("session", inherited);
  p.run_as = j.value("run_as", "");
  const Session& s = session(p.run_as.empty() ? p.session : p.run_as);
  p.integrity = j.value("integrity", s.logon_id == 0x3e7 ? "System" : s.elevated ? "High" : "Medium");
  p.elevation = j.value("elevation", s.logon_id == 0x3e7 ? "%%1936" : s.elevated ? "%%1937" : "%%1938");
  p.original_file_name = j.value("original_file_name", "");
  // "{pid:lsass}" in a command line becomes that process's PID, as the attacker typed it.
  for (size_t at = p.cmd.find("{pid:"); at != std::string::npos; at = p.cmd.find("{pid:", at)) {
    size_t end = p.cmd.find('}', at);
    std::string ref = p.cmd.substr(at + 5, end - at - 5);
    auto it = processes_.find(ref);
    if (it == processes_.end()) throw std::runtime_error("command line of " + p.id + " names unknown process " + ref);
    p.cmd.replace(at, end - at + 1, std::to_string(it->second.pid));
  }
  p.expect_orphan = j.value("expect_orphan", "");
  p.start = t;
  p.boot = h.boot;
  p.pid = j.contains("pid") ? j.at("pid").get<int64_t>() : allocate_pid(h);
  if (j.contains("pid")) h.in_use.insert(p.pid);
  p.guid = fmt::format("{{{:08x}-{:04x}-{:04x}-0000-{:012x}}}", 0x5a5a0000u + static_cast<uint32_t>(guid_counter_ >> 16),
                       static_cast<unsigned>(guid_counter_ & 0xffff), 0x10, guid_counter_ * 7919);
  ++guid_counter_;
  int64_t ppid = parent ? parent->pid : j.value("parent_pid", int64_t{4});
  std::string parent_image = parent ? parent->image : j.value("parent_image", std::string());

  if (log_it && audited(h, t)) {
    const Session& creator = session(p.session);
    std::map<std::string, std::string> d = {
        {"SubjectUserSid", creator.sid}, {"SubjectUserName", creator.user}, {"SubjectDomainName", creator.domain},
        {"SubjectLogonId", hex(creator.logon_id)}, {"NewProcessId", hex(p.pid)}, {"NewProcessName", p.image},
        {"TokenElevationType", p.elevation}, {"ProcessId", hex(ppid)},
        {"CommandLine", h.command_line ? p.cmd : ""}};
    if (!p.run_as.empty()) {
      const Session& target = session(p.run_as);
      d.insert({{"TargetUserSid", target.sid}, {"TargetUserName", target.user}, {"TargetDomainName", target.domain},
                {"TargetLogonId", hex(target.logon_id)}});
    } else {
      d.insert({{"TargetUserSid", "S-1-0-0"}, {"TargetUserName", "-"}, {"TargetDomainName", "-"}, {"TargetLogonId", "0x0"}});
    }
    d["ParentProcessName"] = parent_image;
    d["MandatoryLabel"] = label_sid(p.integrity);
    emit(h, "Security", "Security", 4688, h.process_version, t, d);
    p.logged = true;
    p.record_id = h.logs["Security"].next_record_id - 1;
  }
  if (log_it && h.sysmon) {
    const Session& s2 = session(p.run_as.empty() ? p.session : p.run_as);
    std::string base = p.image.substr(p.image.find_last_of('\\') + 1);
    emit(h, "Sysmon", "Microsoft-Windows-Sysmon/Operational", 1, 5, t + 2000,  // Sysmon logs 0.2 ms later
         {{"RuleName", "-"}, {"UtcTime", filetime_to_iso(t + h.clock_offset).substr(0, 23)}, {"ProcessGuid", p.guid},
          {"ProcessId", std::to_string(p.pid)}, {"Image", p.image}, {"FileVersion", "-"}, {"Description", "-"},
          {"Product", "-"}, {"Company", "-"}, {"OriginalFileName", p.original_file_name.empty() ? base : p.original_file_name},
          {"CommandLine", p.cmd}, {"CurrentDirectory", "C:\\Windows\\system32\\"},
          {"User", s2.domain + "\\" + s2.user}, {"LogonGuid", "{00000000-0000-0000-0000-000000000000}"},
          {"LogonId", hex(s2.logon_id)}, {"TerminalSessionId", "1"}, {"IntegrityLevel", p.integrity},
          {"Hashes", "SHA256=" + std::string(64, '0')}, {"ParentProcessGuid", parent ? parent->guid : "{00000000-0000-0000-0000-000000000000}"},
          {"ParentProcessId", std::to_string(ppid)}, {"ParentImage", parent_image},
          {"ParentCommandLine", parent ? parent->cmd : ""}, {"ParentUser", "-"}});
  }
  order_.push_back(p.id);
  processes_.emplace(p.id, std::move(p));
}

void Generator::exit_process(const std::string& id, int64_t t) {
  auto it = processes_.find(id);
  if (it == processes_.end()) throw std::runtime_error("exit of unknown process " + id);
  Process& p = it->second;
  if (!p.alive) return;
  p.alive = false;
  Host& h = host(p.host);
  release_pid(h, p.pid);
  if (h.sysmon && p.logged)
    emit(h, "Sysmon", "Microsoft-Windows-Sysmon/Operational", 5, 3, t + 2000,
         {{"RuleName", "-"}, {"UtcTime", filetime_to_iso(t + h.clock_offset).substr(0, 23)}, {"ProcessGuid", p.guid},
          {"ProcessId", std::to_string(p.pid)}, {"Image", p.image}});
  if (h.exits && audited(h, t)) {
    const Session& s = session(p.run_as.empty() ? p.session : p.run_as);
    emit(h, "Security", "Security", 4689, 0, t,
         {{"SubjectUserSid", s.sid}, {"SubjectUserName", s.user}, {"SubjectDomainName", s.domain},
          {"SubjectLogonId", hex(s.logon_id)}, {"Status", "0x0"}, {"ProcessId", hex(p.pid)}, {"ProcessName", p.image}});
  }
}

// Many processes from the live ones, for PID-reuse stress: each step spawns a child of a random
// live process or ends one, drawing PIDs from the host's pool.
void Generator::storm(Host& h, const json& j, int64_t& t) {
  int n = j.at("processes").get<int>();
  double step = j.value("interval", 0.01);
  std::vector<std::string> images = j.at("images").get<std::vector<std::string>>();
  std::string prefix = j.value("prefix", "storm");
  double ghosts = j.value("ghosts", 0.0);
  std::string ghost_image = j.value("ghost_image", std::string("C:\\Windows\\System32\\wbem\\WmiPrvSE.exe"));
  std::vector<std::string> live;
  for (const auto& id : order_) {
    const Process& p = processes_.at(id);
    if (p.host == h.name && p.alive) live.push_back(id);
  }
  if (live.empty()) throw std::runtime_error("a storm needs a running process on " + h.name);
  size_t roots = live.size();
  for (int made = 0; made < n;) {
    t += static_cast<int64_t>(step * kTick);
    bool pool_full = !h.pool.empty() && h.in_use.size() + 1 >= h.pool.size();
    if (live.size() > roots && (pool_full || live.size() > 48 || rng_() % 3 == 0)) {
      size_t k = roots + rng_() % (live.size() - roots);
      exit_process(live[k], t);
      live.erase(live.begin() + static_cast<long>(k));
      continue;
    }
    std::string parent = live[rng_() % live.size()];
    if (ghosts > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < ghosts) {
      // A parent whose 4688 never reached the log (lost, or from an unaudited stretch), with a
      // PID that logged processes held before it: the naive join picks one of those.
      json ghost = {{"id", fmt::format("{}-ghost-{}", prefix, made)}, {"parent", parent}, {"image", ghost_image}};
      spawn(h, ghost, t, false);
      live.push_back(ghost["id"]);
      parent = ghost["id"];
      t += static_cast<int64_t>(step * kTick);
    }
    json spec = {{"id", fmt::format("{}-{}", prefix, made)}, {"parent", parent},
                 {"image", images[rng_() % images.size()]}};
    spawn(h, spec, t, true);
    live.push_back(spec["id"]);
    ++made;
  }
}

void Generator::run(const json& unsorted) {
  // Entries may be grouped by host in the file; time orders them (stably, so same-t entries
  // keep their written order).
  std::vector<json> timeline(unsorted.begin(), unsorted.end());
  std::stable_sort(timeline.begin(), timeline.end(),
                   [](const json& a, const json& b) { return a.at("t").get<double>() < b.at("t").get<double>(); });
  int64_t last = start_;
  for (const auto& e : timeline) {
    int64_t t = start_ + static_cast<int64_t>(e.at("t").get<double>() * kTick);
    if (t < last) throw std::runtime_error(fmt::format("timeline goes back in time at t={}", e.at("t").dump()));
    last = t;
    if (e.contains("exit")) {
      exit_process(e.at("exit").get<std::string>(), t);
      continue;
    }
    if (e.contains("logoff")) {
      const Session& s = session(e.at("logoff").get<std::string>());
      Host& h = host(e.at("host").get<std::string>());
      // A user who signs out writes 4647 first; Windows then ends the session with 4634.
      if (e.value("user_initiated", false))
        emit(h, "Security", "Security", 4647, 0, t,
             {{"TargetUserSid", s.sid}, {"TargetUserName", s.user}, {"TargetDomainName", s.domain},
              {"TargetLogonId", hex(s.logon_id)}});
      emit(h, "Security", "Security", 4634, 0, t,
           {{"TargetUserSid", s.sid}, {"TargetUserName", s.user}, {"TargetDomainName", s.domain},
            {"TargetLogonId", hex(s.logon_id)}, {"LogonType", std::to_string(s.type)}});
      continue;
    }
    Host& h = host(e.at("host").get<std::string>());
    if (e.contains("boot")) {
      boot(h, t);
    } else if (e.contains("settings")) {
      // Audit policy changes mid-log: exit auditing, command-line auditing, process auditing.
      const json& j = e.at("settings");
      h.exits = j.value("exits", h.exits);
      h.command_line = j.value("command_line", h.command_line);
      if (j.contains("process_auditing")) {
        if (j.at("process_auditing").get<bool>()) h.audit_from = t;
        else h.audit_from = std::numeric_limits<int64_t>::max();
      }
    } else if (e.contains("running")) {
      // A process that started before the log: it exists (and takes its PID) but has no 4688.
      spawn(h, e.at("running"), t, false);
    } else if (e.contains("spawn")) {
      spawn(h, e.at("spawn"), t, true);
    } else if (e.contains("storm")) {
      storm(h, e.at("storm"), t);
      last = t;
    } else if (e.contains("logon")) {
      logon(h, e.at("logon"), t);
    } else if (e.contains("explicit_logon")) {
      explicit_logon(h, e.at("explicit_logon"), t);
    } else if (e.contains("connection")) {
      connection(h, e.at("connection"), t);
    } else if (e.contains("task")) {
      task(h, e.at("task"), t);
    } else if (e.contains("clear")) {
      // Clearing the Security log erases everything before it; the 1102 is the new first record.
      const Session& s = session(e.at("clear").get<std::string>());
      LogFile& f = h.logs["Security"];
      f.records.clear();
      for (auto& [id, p] : processes_)
        if (p.host == h.name) p.logged = false;
      emit(h, "Security", "Security", 1102, 0, t,
           {{"SubjectUserSid", s.sid}, {"SubjectUserName", s.user}, {"SubjectDomainName", s.domain},
            {"SubjectLogonId", hex(s.logon_id)}});
    } else if (e.contains("script_block")) {
      // Written by the PowerShell process itself: its PID is the record's Execution ProcessID.
      const json& j = e.at("script_block");
      const std::string by = j.value("process", "");
      const uint32_t pid = by.empty() ? 4 : static_cast<uint32_t>(process(by).pid);
      uint64_t rid = emit(h, "PowerShell", "Microsoft-Windows-PowerShell/Operational", 4104, 1, t,
                          {{"MessageNumber", "1"}, {"MessageTotal", "1"}, {"ScriptBlockText", j.at("text").get<std::string>()},
                           {"ScriptBlockId", j.value("id", "{6f1a3e2b-0c4d-4e5f-9a8b-7c6d5e4f3a2b}")}, {"Path", j.value("path", "")}},
                          pid);
      links_.push_back({{"kind", "script_block"}, {"host", h.name}, {"log", "PowerShell"}, {"record_id", rid},
                        {"process", by.empty() ? json() : json(by)}});
    } else if (e.contains("service_install")) {
      const json& j = e.at("service_install");
      uint64_t rid = emit(h, "System", "System", 7045, 0, t,
                          {{"ServiceName", j.at("name").get<std::string>()}, {"ImagePath", j.at("image").get<std::string>()},
                           {"ServiceType", "user mode service"}, {"StartType", j.value("start", "demand start")},
                           {"AccountName", j.value("account", "LocalSystem")}});
      // The installer and the service's process are the scenario's statement (ids of its processes).
      links_.push_back({{"kind", "service"}, {"host", h.name}, {"log", "System"}, {"record_id", rid},
                        {"installer", j.value("installer", json())}, {"service_process", j.value("service_process", json())}});
      // With "Security System Extension" auditing the install is also a 4697, made in the
      // installer's session: over the network (PsExec), the network logon's.
      if (j.contains("security_session")) {
        const Session& s = session(j.at("security_session").get<std::string>());
        uint64_t sec = emit(h, "Security", "Security", 4697, 0, t,
                            {{"SubjectUserSid", s.sid}, {"SubjectUserName", s.user}, {"SubjectDomainName", s.domain},
                             {"SubjectLogonId", hex(s.logon_id)}, {"ServiceName", j.at("name").get<std::string>()},
                             {"ServiceFileName", j.at("image").get<std::string>()}, {"ServiceType", "0x10"},
                             {"ServiceStartType", "3"}, {"ServiceAccount", j.value("account", "LocalSystem")}});
        links_.push_back({{"kind", "service"}, {"host", h.name}, {"log", "Security"}, {"record_id", sec},
                          {"installer", j.value("installer", json())}, {"service_process", j.value("service_process", json())},
                          {"session", s.id}});
      }
    } else {
      throw std::runtime_error("unknown timeline entry: " + e.dump());
    }
  }
}


}  // namespace treeline::gen::detail

namespace treeline::gen {

GenerateResult generate_scenario(const nlohmann::json& scenario, const std::string& out_dir, bool exports) {
  detail::Generator g(scenario.value("seed", 1u));
  g.load(scenario);
  g.run(scenario.at("timeline"));
  return g.write(out_dir, exports);
}

}  // namespace treeline::gen
