// The scenario's records beyond processes and boots, the SIEM exports, and the files written.
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "core/text.hpp"
#include "core/time.hpp"
#include "generator.hpp"

namespace fs = std::filesystem;

namespace treeline::gen::detail {
namespace {

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

}  // namespace

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
              {"command_line", p.cmd},
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

}  // namespace treeline::gen::detail
