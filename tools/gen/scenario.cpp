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

namespace fs = std::filesystem;
using nlohmann::json;

namespace treeline::gen {
namespace {

constexpr int64_t kTick = 10'000'000;  // FILETIME ticks per second

struct Session {
  std::string id;
  int64_t logon_id = 0;
  std::string user, domain, sid;
  int type = 0;
  bool admin = false;
  bool elevated = false;
};

struct Process {
  std::string id;
  std::string host;
  int64_t pid = 0;
  std::string image, cmd;
  std::string session;       // session id
  std::string run_as;        // session id of the token when it differs (4688 v2 Target*)
  std::string integrity;     // Low/Medium/High/System
  std::string elevation;     // %%1936 / %%1937 / %%1938
  std::string parent;        // process id, "" for none
  int64_t start = 0;
  int boot = 0;
  bool logged = false;       // its 4688 is in the log (and survived any clear)
  bool alive = true;
  std::string guid;
  std::string original_file_name;
  uint64_t record_id = 0;
  std::string expect_orphan;
};

struct LogFile {
  std::string name;  // "Security", "Sysmon", ...
  std::vector<std::tuple<const EventDef*, std::vector<Value>, uint64_t, int64_t>> records;
  uint64_t next_record_id = 1;
};

struct Host {
  std::string name, computer;
  int process_version = 2;
  bool command_line = true;
  bool exits = true;
  bool sysmon = false;
  std::optional<int64_t> audit_from;  // FILETIME from which 4688/4689 are written
  std::vector<int64_t> pool;          // fixed PID pool, or empty
  int64_t next_pid = 4;
  std::deque<int64_t> released;
  std::set<int64_t> in_use;
  int boot = 0;
  std::map<std::string, LogFile> logs;
  int64_t clock_offset = 0;  // FILETIME ticks this host's clock runs ahead of true time
  std::string ip;            // its address, as other hosts' logs and its own Sysmon 3 name it
};

std::string xml_escape(const std::string& t) {
  std::string e;
  for (char c : t) {
    switch (c) {
      case '&': e += "&amp;"; break;
      case '<': e += "&lt;"; break;
      case '>': e += "&gt;"; break;
      case '\'': e += "&apos;"; break;
      case '"': e += "&quot;"; break;
      default: e += c;
    }
  }
  return e;
}

std::string hex(int64_t v) { return fmt::format("0x{:x}", v); }

const char* label_sid(const std::string& integrity) {
  if (integrity == "Low") return "S-1-16-4096";
  if (integrity == "Medium") return "S-1-16-8192";
  if (integrity == "High") return "S-1-16-12288";
  return "S-1-16-16384";
}

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  void load(const json& s);
  void run(const json& timeline);
  GenerateResult write(const std::string& out_dir, bool exports);

 private:
  Host& host(const std::string& name);
  int64_t allocate_pid(Host& h);
  void release_pid(Host& h, int64_t pid);
  uint64_t emit(Host& h, const std::string& log, const std::string& channel, uint32_t id, int version, int64_t t,
                const std::map<std::string, std::string>& data, uint32_t execution_pid = 4);
  void logon(Host& h, const json& j, int64_t t);
  void explicit_logon(Host& h, const json& j, int64_t t);
  void connection(Host& h, const json& j, int64_t t);
  void task(Host& h, const json& j, int64_t t);
  const Process& process(const std::string& id) const;
  const Session& session(const std::string& id);
  void spawn(Host& h, const json& j, int64_t t, bool log_it);
  void exit_process(const std::string& id, int64_t t);
  void boot(Host& h, int64_t t);
  void storm(Host& h, const json& j, int64_t& t);
  bool audited(const Host& h, int64_t t) const { return !h.audit_from || t >= *h.audit_from; }

  std::mt19937 rng_;
  int64_t start_ = 0;
  std::map<std::string, Host> hosts_;
  std::map<std::string, Session> sessions_;
  std::map<std::string, Process> processes_;
  std::vector<std::string> order_;  // process ids in creation order
  std::vector<json> links_;  // the truth about the story joins (links.jsonl)
  int64_t next_logon_ = 0x1a2b00;
  uint64_t guid_counter_ = 1;
};

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

// A 4624. A type 9 (runas /netonly) logon is made under its user's session: `subject` names it.
// A logon from another host of the scenario names the process there that made it (`source`,
// the truth), or says that nothing may be linked (`source_ambiguous`).
void Generator::logon(Host& h, const json& j, int64_t t) {
  Session s;
  s.id = j.at("id").get<std::string>();
  s.logon_id = j.contains("logon_id") ? *parse_windows_int(j.at("logon_id").get<std::string>()) : (next_logon_ += 0x1f3);
  s.user = j.at("user").get<std::string>();
  s.domain = j.value("domain", "CORP");
  s.sid = j.value("sid", fmt::format("S-1-5-21-3623811015-3361044348-30300820-{}", 1000 + sessions_.size()));
  s.type = j.value("type", 2);
  s.admin = j.value("admin", false);
  s.elevated = j.value("elevated", false);
  std::string linked = j.value("linked", "");
  int64_t linked_id = linked.empty() ? 0 : session(linked).logon_id;
  const std::string subject_id = j.value("subject", "");
  const Session subject = subject_id.empty() ? Session{"", 0x3e7, h.name + "$", s.domain, "S-1-5-18"} : session(subject_id);
  sessions_[s.id] = s;
  const bool network = s.type == 3;
  const std::string package = j.value("package", network ? "NTLM" : "Negotiate");
  const bool ntlm = package == "NTLM";
  uint64_t rid = emit(
      h, "Security", "Security", 4624, 2, t,
      {{"SubjectUserSid", subject.sid}, {"SubjectUserName", subject.user}, {"SubjectDomainName", subject.domain},
       {"SubjectLogonId", hex(subject.logon_id)}, {"TargetUserSid", s.sid}, {"TargetUserName", s.user},
       {"TargetDomainName", s.domain}, {"TargetLogonId", hex(s.logon_id)}, {"LogonType", std::to_string(s.type)},
       {"LogonProcessName", ntlm ? "NtLmSsp " : package == "Kerberos" ? "Kerberos" : s.type == 9 ? "seclogo" : "User32 "},
       {"AuthenticationPackageName", package},
       {"WorkstationName", j.value("workstation", "-")}, {"LogonGuid", "{00000000-0000-0000-0000-000000000000}"},
       {"TransmittedServices", "-"}, {"LmPackageName", ntlm && network ? "NTLM V2" : "-"},
       // An NTLM V2 network logon sets up a 128-bit session key; a scenario can say otherwise.
       {"KeyLength", j.value("key_length", ntlm && network ? "128" : "0")},
       {"ProcessId", "0x2c4"}, {"ProcessName", "C:\\Windows\\System32\\lsass.exe"}, {"IpAddress", j.value("ip", "-")},
       {"IpPort", j.value("port", "-")}, {"ImpersonationLevel", "%%1833"}, {"RestrictedAdminMode", "-"},
       {"TargetOutboundUserName", j.value("outbound_user", "-")}, {"TargetOutboundDomainName", j.value("outbound_domain", "-")},
       {"VirtualAccount", "%%1843"}, {"TargetLinkedLogonId", hex(linked_id)}, {"ElevatedToken", s.elevated ? "%%1842" : "%%1843"}});
  json link = {{"kind", "logon"}, {"host", h.name}, {"log", "Security"}, {"record_id", rid}, {"session", s.id},
               {"origin", s.type == 9 && !subject_id.empty() ? json(subject_id) : json()}};
  if (j.contains("source")) {
    const Process& p = process(j.at("source").get<std::string>());
    link["source_host"] = p.host;
    link["source_process"] = p.id;
  } else if (j.contains("source_ambiguous")) {
    link["source_host"] = j.at("source_ambiguous").get<std::string>();
    link["source_process"] = nullptr;
  }
  links_.push_back(std::move(link));
  if (s.admin && s.elevated)
    emit(h, "Security", "Security", 4672, 0, t,
         {{"SubjectUserSid", s.sid}, {"SubjectUserName", s.user}, {"SubjectDomainName", s.domain},
          {"SubjectLogonId", hex(s.logon_id)}, {"PrivilegeList", "SeDebugPrivilege\n\t\t\tSeBackupPrivilege"}});
}

// A 4648: explicit credentials, by a process when the scenario names one.
void Generator::explicit_logon(Host& h, const json& j, int64_t t) {
  const std::string by = j.value("process", "");
  const Process* p = by.empty() ? nullptr : &process(by);
  const Session& s = session(p ? (p->run_as.empty() ? p->session : p->run_as) : j.at("session").get<std::string>());
  uint64_t rid = emit(
      h, "Security", "Security", 4648, 0, t,
      {{"SubjectUserSid", s.sid}, {"SubjectUserName", s.user}, {"SubjectDomainName", s.domain},
       {"SubjectLogonId", hex(s.logon_id)}, {"LogonGuid", "{00000000-0000-0000-0000-000000000000}"},
       {"TargetUserName", j.at("user").get<std::string>()}, {"TargetDomainName", j.value("domain", "CORP")},
       {"TargetLogonGuid", "{00000000-0000-0000-0000-000000000000}"}, {"TargetServerName", j.value("server", "localhost")},
       {"TargetInfo", j.value("server", "localhost")}, {"ProcessId", p ? hex(p->pid) : "0x0"},
       {"ProcessName", p ? p->image : "-"}, {"IpAddress", j.value("ip", "-")}, {"IpPort", j.value("port", "-")}});
  links_.push_back({{"kind", "explicit_logon"}, {"host", h.name}, {"log", "Security"}, {"record_id", rid},
                    {"process", p ? json(p->id) : json()}});
}

// A Sysmon 3: a process's outbound TCP connection.
void Generator::connection(Host& h, const json& j, int64_t t) {
  const Process& p = process(j.at("process").get<std::string>());
  const Session& s = session(p.run_as.empty() ? p.session : p.run_as);
  emit(h, "Sysmon", "Microsoft-Windows-Sysmon/Operational", 3, 5, t,
       {{"RuleName", "-"}, {"UtcTime", filetime_to_iso(t + h.clock_offset).substr(0, 23)}, {"ProcessGuid", p.guid},
        {"ProcessId", std::to_string(p.pid)}, {"Image", p.image}, {"User", s.domain + "\\" + s.user}, {"Protocol", "tcp"},
        {"Initiated", "true"}, {"SourceIsIpv6", "false"}, {"SourceIp", j.value("source_ip", h.ip)},
        {"SourceHostname", h.computer}, {"SourcePort", j.value("source_port", "50211")}, {"SourcePortName", "-"},
        {"DestinationIsIpv6", "false"}, {"DestinationIp", j.at("ip").get<std::string>()},
        {"DestinationHostname", j.value("hostname", "-")}, {"DestinationPort", j.at("port").get<std::string>()},
        {"DestinationPortName", "-"}});
}

// A 4698 (or 4699-4702 with `event`): a scheduled task, with its XML as Task Scheduler writes it.
void Generator::task(Host& h, const json& j, int64_t t) {
  const Session& s = session(j.at("session").get<std::string>());
  const std::string trigger = j.value("trigger", "LogonTrigger");
  std::string args = j.value("arguments", "");
  std::string xml = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Task version=\"1.2\" "
      "xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\r\n  <RegistrationInfo>\r\n    <URI>{0}</URI>\r\n"
      "  </RegistrationInfo>\r\n  <Triggers>\r\n    <{1}>\r\n      <Enabled>true</Enabled>\r\n    </{1}>\r\n  </Triggers>\r\n"
      "  <Principals>\r\n    <Principal id=\"Author\">\r\n      <UserId>{2}</UserId>\r\n      <RunLevel>{3}</RunLevel>\r\n"
      "    </Principal>\r\n  </Principals>\r\n  <Actions Context=\"Author\">\r\n    <Exec>\r\n      <Command>{4}</Command>\r\n"
      "{5}    </Exec>\r\n  </Actions>\r\n</Task>",
      xml_escape(j.at("name").get<std::string>()), trigger, xml_escape(j.value("run_as_user", "S-1-5-18")),
      j.value("run_level", "HighestAvailable"), xml_escape(j.at("command").get<std::string>()),
      args.empty() ? "" : fmt::format("      <Arguments>{}</Arguments>\r\n", xml_escape(args)));
  const int id = j.value("event", 4698);
  uint64_t rid = emit(h, "Security", "Security", static_cast<uint32_t>(id), 0, t,
                      {{"SubjectUserSid", s.sid}, {"SubjectUserName", s.user}, {"SubjectDomainName", s.domain},
                       {"SubjectLogonId", hex(s.logon_id)}, {"TaskName", j.at("name").get<std::string>()},
                       {id == 4699 ? "TaskContent" : id == 4702 ? "TaskContentNew" : "TaskContent", id == 4699 ? "" : xml}});
  links_.push_back({{"kind", "task"}, {"host", h.name}, {"log", "Security"}, {"record_id", rid}, {"session", s.id},
                    {"creator", j.value("creator", json())}, {"runs", j.value("runs", json::array())}});
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
    } else {
      throw std::runtime_error("unknown timeline entry: " + e.dump());
    }
  }
}


// The records a SIEM would have exported: Winlogbeat's ECS documents and wevtutil's XML.
void write_exports(const fs::path& base, const Host& h, const LogFile& f) {
  std::ofstream ecs(base.string() + ".ecs.jsonl");
  std::ofstream xml(base.string() + ".xml");
  for (const auto& [def, values, rid, t] : f.records) {
    json data = json::object();
    std::string xml_data;
    for (size_t i = 0; i < def->fields.size(); ++i) {
      std::string v = render_value(values[13 + i]);
      data[def->fields[i].first] = v;
      xml_data += fmt::format("<{0}{1}>{2}</{0}>", def->user_data_element.empty() ? "Data" : def->fields[i].first,
                              def->user_data_element.empty() ? fmt::format(" Name='{}'", def->fields[i].first) : "",
                              xml_escape(v));
    }
    std::string when = filetime_to_iso(t);
    json doc = {{"@timestamp", when.substr(0, 23) + "Z"},
                {"event", {{"code", std::to_string(def->id)}, {"provider", def->provider}, {"kind", "event"}}},
                {"host", {{"name", h.computer}}},
                {"winlog",
                 {{"channel", def->channel}, {"computer_name", h.computer}, {"event_id", def->id}, {"record_id", rid},
                  {"provider_name", def->provider}, {"version", def->version},
                  {def->user_data_element.empty() ? "event_data" : "user_data", data}}}};
    ecs << doc.dump() << "\n";
    std::string payload = def->user_data_element.empty()
                              ? "<EventData>" + xml_data + "</EventData>"
                              : fmt::format("<UserData><{0} xmlns='{1}'>{2}</{0}></UserData>", def->user_data_element,
                                            def->user_data_ns, xml_data);
    xml << fmt::format(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='{}' Guid='{}'/>"
        "<EventID>{}</EventID><Version>{}</Version><Level>{}</Level><Task>{}</Task><Opcode>{}</Opcode>"
        "<Keywords>0x{:x}</Keywords><TimeCreated SystemTime='{}'/><EventRecordID>{}</EventRecordID><Correlation/>"
        "<Execution ProcessID='4' ThreadID='{}'/><Channel>{}</Channel><Computer>{}</Computer><Security/></System>{}</Event>\n",
        def->provider, def->provider_guid, def->id, int(def->version), int(def->level), def->task, int(def->opcode),
        def->keywords, when, rid, render_value(values[9]), xml_escape(def->channel), xml_escape(h.computer), payload);
  }
}

GenerateResult Generator::write(const std::string& out_dir, bool exports) {
  GenerateResult r;
  fs::create_directories(out_dir);
  for (auto& [name, h] : hosts_) {
    for (auto& [log, f] : h.logs) {
      if (exports) {
        write_exports(fs::path(out_dir) / fmt::format("{}-{}", name, log), h, f);
        r.records += f.records.size();
        r.files += 2;
        continue;
      }
      EvtxWriter w;
      for (auto& [def, values, rid, t] : f.records) w.add(def->tmpl, values, rid, t);
      auto bytes = w.finish();
      // Logs go in logs/, apart from truth.jsonl, so the folder can be ingested as it is.
      fs::create_directories(fs::path(out_dir) / "logs");
      std::ofstream out(fs::path(out_dir) / "logs" / fmt::format("{}-{}.evtx", name, log), std::ios::binary);
      out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
      r.records += f.records.size();
      ++r.files;
    }
  }
  // The truth: every process, its real parent, whether that parent's 4688 is in the log.
  if (exports) return r;
  std::ofstream links(fs::path(out_dir) / "links.jsonl");
  for (const json& l : links_) links << l.dump() << "\n";
  std::ofstream truth(fs::path(out_dir) / "truth.jsonl");
  for (const auto& id : order_) {
    const Process& p = processes_.at(id);
    const Process* parent = p.parent.empty() ? nullptr : &processes_.at(p.parent);
    const Session& s = session(p.run_as.empty() ? p.session : p.run_as);
    json j = {{"id", p.id},
              {"host", p.host},
              {"pid", p.pid},
              {"image", p.image},
              // As the host's log writes it (its clock); true_start is the scenario's time.
              {"start", filetime_to_iso(p.start + hosts_.at(p.host).clock_offset)},
              {"start_ft", p.start + hosts_.at(p.host).clock_offset},
              {"true_start_ft", p.start},
              {"boot", p.boot},
              {"logged", p.logged},
              {"record_id", p.logged ? json(p.record_id) : json()},
              {"parent", parent ? json(parent->id) : json()},
              {"parent_logged", parent && parent->logged},
              {"parent_pid", parent ? json(parent->pid) : json()},
              {"logon_id", hex(s.logon_id)},
              {"session", s.id},
              {"expect_orphan", p.expect_orphan.empty() ? json() : json(p.expect_orphan)}};
    truth << j.dump() << "\n";
    r.processes += p.logged;
  }
  return r;
}

}  // namespace

GenerateResult generate_scenario(const json& scenario, const std::string& out_dir, bool exports) {
  Generator g(scenario.value("seed", 1u));
  g.load(scenario);
  g.run(scenario.at("timeline"));
  return g.write(out_dir, exports);
}

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
