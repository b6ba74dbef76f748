#include "events.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "core/event_catalog.hpp"
#include "core/text.hpp"

namespace treeline::gen {
namespace {

constexpr const char* kSecurityGuid = "{54849625-5478-4994-A5BA-3E3B0328C30D}";
constexpr const char* kSysmonGuid = "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}";
constexpr const char* kEventlogGuid = "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}";
constexpr const char* kPowerShellGuid = "{A0C1853B-5C40-4B15-8766-3CF1C58F985A}";
constexpr const char* kScmGuid = "{555908d1-a6d7-4695-8e1e-26931d2012f4}";

ValueType security_type(const std::string& name) {
  if (name.size() > 3 && name.compare(name.size() - 3, 3, "Sid") == 0) return ValueType::kSid;
  if (name == "MandatoryLabel") return ValueType::kSid;
  if (name == "SubjectLogonId" || name == "TargetLogonId" || name == "NewProcessId" || name == "ProcessId" ||
      name == "TargetLinkedLogonId")
    return ValueType::kHexInt64;
  if (name == "Status") return ValueType::kHexInt32;
  if (name == "LogonType" || name == "KeyLength") return ValueType::kUInt32;
  if (name == "LogonGuid" || name == "TargetLogonGuid") return ValueType::kGuid;
  return ValueType::kString;
}

ValueType sysmon_type(const std::string& name) {
  if (name == "ProcessId" || name == "ParentProcessId" || name == "TerminalSessionId") return ValueType::kUInt32;
  if (name == "ProcessGuid" || name == "ParentProcessGuid" || name == "LogonGuid") return ValueType::kGuid;
  if (name == "LogonId") return ValueType::kHexInt64;
  return ValueType::kString;
}

std::shared_ptr<Node> node(std::string name, std::vector<std::pair<std::string, Content>> attrs = {},
                           std::vector<Content> children = {}) {
  return std::make_shared<Node>(Node{std::move(name), std::move(attrs), std::move(children)});
}

// The System part every event shares; substitutions 0-12, EventData from 13 on.
Template build_template(const EventDef& d) {
  auto sys = node("System", {},
                  {node("Provider", {{"Name", std::string(d.provider)}, {"Guid", std::string(d.provider_guid)}}),
                   node("EventID", {}, {Sub{0, ValueType::kUInt16}}),
                   node("Version", {}, {Sub{1, ValueType::kUInt8}}),
                   node("Level", {}, {Sub{2, ValueType::kUInt8}}),
                   node("Task", {}, {Sub{3, ValueType::kUInt16}}),
                   node("Opcode", {}, {Sub{4, ValueType::kUInt8}}),
                   node("Keywords", {}, {Sub{5, ValueType::kHexInt64}}),
                   node("TimeCreated", {{"SystemTime", Sub{6, ValueType::kFileTime}}}),
                   node("EventRecordID", {}, {Sub{7, ValueType::kUInt64}}),
                   node("Correlation"),
                   node("Execution", {{"ProcessID", Sub{8, ValueType::kUInt32}}, {"ThreadID", Sub{9, ValueType::kUInt32}}}),
                   node("Channel", {}, {Sub{10, ValueType::kString}}),
                   node("Computer", {}, {Sub{11, ValueType::kString}}),
                   node("Security", {{"UserID", Sub{12, ValueType::kSid, true}}})});
  std::vector<Content> data;
  uint16_t index = 13;
  for (const auto& [name, type] : d.fields) {
    if (d.user_data_element.empty())
      data.push_back(node("Data", {{"Name", std::string(name)}}, {Sub{index++, type}}));
    else
      data.push_back(node(name, {}, {Sub{index++, type}}));
  }
  std::shared_ptr<Node> payload;
  if (d.user_data_element.empty()) payload = node("EventData", {}, std::move(data));
  else payload = node("UserData", {}, {node(d.user_data_element, {{"xmlns", std::string(d.user_data_ns)}}, std::move(data))});
  auto root = node("Event", {{"xmlns", std::string("http://schemas.microsoft.com/win/2004/08/events/event")}},
                   {sys, payload});
  return Template{fmt::format("{}/{}/{}/{}", d.channel, d.id, d.version, d.fields.size()), root};
}

std::vector<std::pair<std::string, ValueType>> typed(const std::vector<std::string_view>& names, ValueType (*type)(const std::string&)) {
  std::vector<std::pair<std::string, ValueType>> out;
  for (auto n : names) out.emplace_back(std::string(n), type(std::string(n)));
  return out;
}

std::map<std::string, EventDef> build_defs() {
  std::map<std::string, EventDef> defs;
  auto add = [&](EventDef d) {
    d.tmpl = build_template(d);
    std::string key = fmt::format("{}/{}/{}", d.channel, d.id, d.version);
    defs.emplace(key, std::move(d));
  };
  // The events treeline reads: every layout in its catalog.
  for (const EventSpec& spec : event_catalog()) {
    bool sysmon = spec.channel != "Security";
    for (const LayoutSpec& l : spec.layouts) {
      // Two 4688 layouts say version 2; the generator writes the full one.
      if (spec.event_id == 4688 && l.version == 2 && l.names.size() != 15) continue;
      if (spec.event_id == 1 && sysmon && l.names.size() != 23) continue;
      EventDef d;
      d.channel = std::string(spec.channel);
      d.id = spec.event_id;
      d.version = static_cast<uint8_t>(l.version);
      d.fields = typed(l.names, sysmon ? sysmon_type : security_type);
      if (sysmon) {
        d.provider = "Microsoft-Windows-Sysmon";
        d.provider_guid = kSysmonGuid;
        d.level = 4;
        d.task = static_cast<uint16_t>(spec.event_id);
        d.keywords = 0x8000000000000000ULL;
      } else if (spec.event_id == 1102 || spec.event_id == 1100) {
        d.provider = "Microsoft-Windows-Eventlog";
        d.provider_guid = kEventlogGuid;
        d.level = 4;
        d.task = static_cast<uint16_t>(spec.event_id == 1102 ? 104 : 103);
        d.keywords = 0x4020000000000000ULL;
        if (spec.event_id == 1102) {
          d.user_data_element = "LogFileCleared";
          d.user_data_ns = "http://manifests.microsoft.com/win/2004/08/windows/eventlog";
        }
      } else {
        d.provider = "Microsoft-Windows-Security-Auditing";
        d.provider_guid = kSecurityGuid;
        d.task = spec.event_id == 4688 || spec.event_id == 4689 ? 13312 : 12544;
        d.keywords = 0x8020000000000000ULL;
      }
      add(std::move(d));
    }
  }
  EventDef ps;
  ps.channel = "Microsoft-Windows-PowerShell/Operational";
  ps.provider = "Microsoft-Windows-PowerShell";
  ps.provider_guid = kPowerShellGuid;
  ps.id = 4104;
  ps.version = 1;
  ps.level = 5;
  ps.task = 2;
  ps.opcode = 15;
  ps.keywords = 0x0;
  ps.fields = {{"MessageNumber", ValueType::kInt32}, {"MessageTotal", ValueType::kInt32},
               {"ScriptBlockText", ValueType::kString}, {"ScriptBlockId", ValueType::kGuid}, {"Path", ValueType::kString}};
  add(ps);
  EventDef svc;
  svc.channel = "System";
  svc.provider = "Service Control Manager";
  svc.provider_guid = kScmGuid;
  svc.id = 7045;
  svc.version = 0;
  svc.level = 4;
  svc.keywords = 0x8080000000000000ULL;
  svc.fields = {{"ServiceName", ValueType::kString}, {"ImagePath", ValueType::kString},
                {"ServiceType", ValueType::kString}, {"StartType", ValueType::kString}, {"AccountName", ValueType::kString}};
  add(svc);
  // Noise for the benchmark file: the Windows Filtering Platform's allowed connection.
  EventDef wfp;
  wfp.channel = "Security";
  wfp.provider = "Microsoft-Windows-Security-Auditing";
  wfp.provider_guid = kSecurityGuid;
  wfp.id = 5156;
  wfp.version = 1;
  wfp.task = 12810;
  wfp.keywords = 0x8020000000000000ULL;
  wfp.fields = {{"ProcessID", ValueType::kUInt64}, {"Application", ValueType::kString}, {"Direction", ValueType::kString},
                {"SourceAddress", ValueType::kString}, {"SourcePort", ValueType::kString}, {"DestAddress", ValueType::kString},
                {"DestPort", ValueType::kString}, {"Protocol", ValueType::kUInt32}, {"FilterRTID", ValueType::kUInt64},
                {"LayerName", ValueType::kString}, {"LayerRTID", ValueType::kUInt64}, {"RemoteUserID", ValueType::kSid},
                {"RemoteMachineID", ValueType::kSid}};
  add(wfp);
  // Sysmon 3 (network connection), which treeline keeps as event data only.
  EventDef net;
  net.channel = "Microsoft-Windows-Sysmon/Operational";
  net.provider = "Microsoft-Windows-Sysmon";
  net.provider_guid = kSysmonGuid;
  net.id = 3;
  net.version = 5;
  net.level = 4;
  net.task = 3;
  net.keywords = 0x8000000000000000ULL;
  for (const char* f : {"RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "User", "Protocol", "Initiated",
                        "SourceIsIpv6", "SourceIp", "SourceHostname", "SourcePort", "SourcePortName", "DestinationIsIpv6",
                        "DestinationIp", "DestinationHostname", "DestinationPort", "DestinationPortName"})
    net.fields.emplace_back(f, sysmon_type(f));
  add(net);
  // A service installed (Security 4697).
  EventDef sec_svc;
  sec_svc.channel = "Security";
  sec_svc.provider = "Microsoft-Windows-Security-Auditing";
  sec_svc.provider_guid = kSecurityGuid;
  sec_svc.id = 4697;
  sec_svc.task = 12289;
  sec_svc.keywords = 0x8020000000000000ULL;
  sec_svc.fields = {{"SubjectUserSid", ValueType::kSid},       {"SubjectUserName", ValueType::kString},
                    {"SubjectDomainName", ValueType::kString}, {"SubjectLogonId", ValueType::kHexInt64},
                    {"ServiceName", ValueType::kString},       {"ServiceFileName", ValueType::kString},
                    {"ServiceType", ValueType::kHexInt32},     {"ServiceStartType", ValueType::kUInt32},
                    {"ServiceAccount", ValueType::kString}};
  add(sec_svc);
  // Scheduled tasks: 4698 created, 4699 deleted, 4700 enabled, 4701 disabled, 4702 updated.
  for (uint32_t id : {4698u, 4699u, 4700u, 4701u, 4702u}) {
    EventDef task;
    task.channel = "Security";
    task.provider = "Microsoft-Windows-Security-Auditing";
    task.provider_guid = kSecurityGuid;
    task.id = id;
    task.version = 0;
    task.task = 12804;
    task.keywords = 0x8020000000000000ULL;
    task.fields = {{"SubjectUserSid", ValueType::kSid}, {"SubjectUserName", ValueType::kString},
                   {"SubjectDomainName", ValueType::kString}, {"SubjectLogonId", ValueType::kHexInt64},
                   {"TaskName", ValueType::kString}, {id == 4702 ? "TaskContentNew" : "TaskContent", ValueType::kString}};
    add(task);
  }
  return defs;
}

}  // namespace

const EventDef& event_def(const std::string& channel, uint32_t id, int version) {
  static const std::map<std::string, EventDef> defs = build_defs();
  auto it = defs.find(fmt::format("{}/{}/{}", channel, id, version));
  if (it == defs.end()) throw std::runtime_error(fmt::format("the generator has no layout for {} {} version {}", channel, id, version));
  return it->second;
}

std::vector<Value> event_values(const EventDef& def, uint64_t record_id, int64_t time, const std::string& computer,
                                uint32_t process_id, uint32_t thread_id, const std::map<std::string, std::string>& data) {
  std::vector<Value> v = {
      Value::num(ValueType::kUInt16, def.id),      Value::num(ValueType::kUInt8, def.version),
      Value::num(ValueType::kUInt8, def.level),    Value::num(ValueType::kUInt16, def.task),
      Value::num(ValueType::kUInt8, def.opcode),   Value::num(ValueType::kHexInt64, def.keywords),
      Value::num(ValueType::kFileTime, static_cast<uint64_t>(time)), Value::num(ValueType::kUInt64, record_id),
      Value::num(ValueType::kUInt32, process_id),  Value::num(ValueType::kUInt32, thread_id),
      Value::str(def.channel),                     Value::str(computer),
      Value::null()};
  for (const auto& [name, type] : def.fields) {
    auto it = data.find(name);
    std::string text = it == data.end() ? "-" : it->second;
    switch (type) {
      case ValueType::kString: v.push_back(Value::str(text)); break;
      case ValueType::kSid: v.push_back(text == "-" || text.empty() ? Value::sid("S-1-0-0") : Value::sid(text)); break;
      case ValueType::kGuid:
        v.push_back(Value::guid(text == "-" || text.empty() ? "{00000000-0000-0000-0000-000000000000}" : text));
        break;
      default: v.push_back(Value::num(type, static_cast<uint64_t>(parse_windows_int(text).value_or(0)))); break;
    }
  }
  return v;
}

}  // namespace treeline::gen
