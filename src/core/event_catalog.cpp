#include "core/event_catalog.hpp"

#include <algorithm>
#include <deque>
#include <unordered_set>

#include "core/text.hpp"

namespace treeline {
namespace {

using Names = std::vector<std::string_view>;

// Fields that Windows writes as numbers (hex in Security, decimal in Sysmon).
bool is_int_field(std::string_view name) {
  static const std::unordered_set<std::string_view> kInts = {
      "SubjectLogonId", "TargetLogonId", "NewProcessId", "ProcessId", "LogonType", "KeyLength",
      "IpPort", "TargetLinkedLogonId", "ParentProcessId", "TerminalSessionId", "LogonId", "Status"};
  return kInts.count(name) > 0;
}

// Builds a spec whose fields are the union of its layouts' names, in first-seen order, plus any
// extra names that only arrive through XML (newer versions).
EventSpec make_spec(std::string_view channel, uint32_t id, std::string_view action,
                    std::string_view table, std::vector<LayoutSpec> layouts, Names extra = {}) {
  EventSpec s{channel, id, action, table, {}, std::move(layouts)};
  // A deque never moves its elements, so the string_views into it stay valid for good.
  static auto* columns = new std::deque<std::string>();
  auto add = [&](std::string_view n) {
    for (const auto& f : s.fields)
      if (f.name == n) return;
    columns->push_back(snake_case(n));
    s.fields.push_back({n, columns->back(), is_int_field(n) ? ValueKind::kInt : ValueKind::kText});
  };
  for (const auto& l : s.layouts)
    for (auto n : l.names) add(n);
  for (auto n : extra) add(n);
  return s;
}

const Names kSubject = {"SubjectUserSid", "SubjectUserName", "SubjectDomainName", "SubjectLogonId"};

Names concat(std::initializer_list<Names> parts) {
  Names out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<EventSpec> build_catalog() {
  std::vector<EventSpec> c;
  c.reserve(16);
  // 4688: v0 (2008/7) has no CommandLine; v1 (8.1/2012R2) adds it; v2 (10/2016) adds the
  // target user, ParentProcessName and MandatoryLabel. Some v2 producers stop after
  // TargetLogonId (13 values): seen in real logs.
  const Names p0 = concat({kSubject, {"NewProcessId", "NewProcessName", "TokenElevationType", "ProcessId"}});
  const Names p1 = concat({p0, {"CommandLine"}});
  const Names p2a = concat({p1, {"TargetUserSid", "TargetUserName", "TargetDomainName", "TargetLogonId"}});
  const Names p2 = concat({p2a, {"ParentProcessName", "MandatoryLabel"}});
  c.push_back(make_spec("Security", 4688, "process-created", "sec_process_create",
                        {{0, p0}, {1, p1}, {2, p2a}, {2, p2}}));

  c.push_back(make_spec("Security", 4689, "process-exited", "sec_process_exit",
                        {{0, concat({kSubject, {"Status", "ProcessId", "ProcessName"}})}}));

  const Names l0 = {"SubjectUserSid", "SubjectUserName", "SubjectDomainName", "SubjectLogonId",
                    "TargetUserSid", "TargetUserName", "TargetDomainName", "TargetLogonId",
                    "LogonType", "LogonProcessName", "AuthenticationPackageName", "WorkstationName",
                    "LogonGuid", "TransmittedServices", "LmPackageName", "KeyLength", "ProcessId",
                    "ProcessName", "IpAddress", "IpPort"};
  const Names l1 = concat({l0, {"ImpersonationLevel"}});
  const Names l2 = concat({l1, {"RestrictedAdminMode", "TargetOutboundUserName", "TargetOutboundDomainName",
                                "VirtualAccount", "TargetLinkedLogonId", "ElevatedToken"}});
  // Version 3 (Windows 11 / Server 2022 and later) appends RemoteCredentialGuard; it is
  // read by name from XML.
  c.push_back(make_spec("Security", 4624, "logged-in", "sec_logon", {{0, l0}, {1, l1}, {2, l2}},
                        {"RemoteCredentialGuard"}));

  const Names target = {"TargetUserSid", "TargetUserName", "TargetDomainName", "TargetLogonId"};
  c.push_back(make_spec("Security", 4634, "logged-out", "sec_logoff", {{0, concat({target, {"LogonType"}})}}));
  c.push_back(make_spec("Security", 4647, "logged-out", "sec_logoff", {{0, target}}));

  // Older manifests name the 8th value "LogonGuid" twice; position says it is the target's.
  c.push_back(make_spec("Security", 4648, "logged-in-explicit", "sec_explicit_logon",
                        {{0, concat({kSubject, {"LogonGuid", "TargetUserName", "TargetDomainName",
                                                "TargetLogonGuid", "TargetServerName", "TargetInfo",
                                                "ProcessId", "ProcessName", "IpAddress", "IpPort"}})}}));
  c.push_back(make_spec("Security", 4672, "logged-in-special", "sec_special_logon",
                        {{0, concat({kSubject, {"PrivilegeList"}})}}));
  c.push_back(make_spec("Security", 4608, "system-started", "", {{0, {}}}));
  c.push_back(make_spec("Security", 1100, "logging-service-shutdown", "", {{0, {}}}));
  c.push_back(make_spec("Security", 1102, "audit-log-cleared", "sec_log_cleared", {{0, kSubject}}));

  // Sysmon 1 across schema versions; all share one table so 4688 and Sysmon can be compared.
  const Names s16 = {"UtcTime", "ProcessGuid", "ProcessId", "Image", "CommandLine", "CurrentDirectory",
                     "User", "LogonGuid", "LogonId", "TerminalSessionId", "IntegrityLevel", "Hashes",
                     "ParentProcessGuid", "ParentProcessId", "ParentImage", "ParentCommandLine"};
  const Names s22 = {"RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "FileVersion",
                     "Description", "Product", "Company", "OriginalFileName", "CommandLine",
                     "CurrentDirectory", "User", "LogonGuid", "LogonId", "TerminalSessionId",
                     "IntegrityLevel", "Hashes", "ParentProcessGuid", "ParentProcessId", "ParentImage",
                     "ParentCommandLine"};
  const Names s23 = concat({s22, {"ParentUser"}});
  constexpr std::string_view kSysmon = "Microsoft-Windows-Sysmon/Operational";
  c.push_back(make_spec(kSysmon, 1, "process-created", "sysmon_process", {{5, s16}, {5, s22}, {5, s23}}));
  c.push_back(make_spec(kSysmon, 5, "process-exited", "sysmon_process",
                        {{3, {"RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "User"}}}));
  return c;
}

}  // namespace

const LayoutSpec* EventSpec::layout_for(size_t value_count) const {
  for (const auto& l : layouts)
    if (l.names.size() == value_count) return &l;
  return nullptr;
}

const FieldSpec* EventSpec::field(std::string_view name) const {
  for (const auto& f : fields)
    if (f.name == name) return &f;
  return nullptr;
}

const std::vector<EventSpec>& event_catalog() {
  static const std::vector<EventSpec> catalog = build_catalog();
  return catalog;
}

const EventSpec* find_event_spec(std::string_view channel, uint32_t event_id) {
  for (const auto& s : event_catalog()) {
    if (s.event_id != event_id || s.channel.size() != channel.size()) continue;
    bool same = std::equal(channel.begin(), channel.end(), s.channel.begin(), [](char a, char b) {
      return (a | 0x20) == (b | 0x20) || a == b;
    });
    if (same) return &s;
  }
  return nullptr;
}

const std::string* EventRecord::value(std::string_view name) const {
  for (size_t i = 0; i < names.size() && i < values.size(); ++i)
    if (names[i] == name) return &values[i];
  return nullptr;
}

TypedRow type_fields(const EventRecord& record) {
  TypedRow row;
  row.values.resize(record.spec->fields.size());
  for (size_t i = 0; i < record.spec->fields.size(); ++i) {
    const FieldSpec& f = record.spec->fields[i];
    const std::string* v = record.value(f.name);
    if (v == nullptr) continue;
    if (f.kind == ValueKind::kText) {
      row.values[i] = *v;
    } else if (auto n = parse_windows_int(*v)) {
      row.values[i] = *n;
    } else if (!v->empty() && *v != "-") {
      ++row.bad_numbers;
    }
  }
  return row;
}

std::string snake_case(std::string_view camel) {
  std::string out;
  for (size_t i = 0; i < camel.size(); ++i) {
    char c = camel[i];
    bool upper = c >= 'A' && c <= 'Z';
    if (upper && i > 0) {
      bool prev_lower = camel[i - 1] >= 'a' && camel[i - 1] <= 'z';
      bool next_lower = i + 1 < camel.size() && camel[i + 1] >= 'a' && camel[i + 1] <= 'z';
      bool prev_upper = camel[i - 1] >= 'A' && camel[i - 1] <= 'Z';
      if (prev_lower || (prev_upper && next_lower)) out.push_back('_');
    }
    out.push_back(upper ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

}  // namespace treeline
