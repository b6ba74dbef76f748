#include "detect/sigma_logsource.hpp"

#include <fmt/format.h>

#include <string_view>

namespace treeline::detect::sigma {
namespace {

constexpr std::string_view kSysmon = "Microsoft-Windows-Sysmon/Operational";
constexpr std::string_view kPowerShell = "Microsoft-Windows-PowerShell/Operational";

struct ServiceChannel {
  std::string_view service;
  std::vector<std::string_view> channels;
};

// pySigma-pipeline-windows' service map (windows_logsource_mapping), for the services SigmaHQ's
// Windows rules use.
const std::vector<ServiceChannel>& services() {
  static const std::vector<ServiceChannel> kServices = {
      {"security", {"Security"}},
      {"system", {"System"}},
      {"application", {"Application"}},
      {"sysmon", {kSysmon}},
      {"powershell", {kPowerShell}},
      {"powershell-classic", {"Windows PowerShell"}},
      {"taskscheduler", {"Microsoft-Windows-TaskScheduler/Operational"}},
      {"wmi", {"Microsoft-Windows-WMI-Activity/Operational"}},
      {"dns-server", {"DNS Server"}},
      {"dns-client", {"Microsoft-Windows-DNS Client Events/Operational"}},
      {"driver-framework", {"Microsoft-Windows-DriverFrameworks-UserMode/Operational"}},
      {"dhcp", {"Microsoft-Windows-DHCP-Server/Operational"}},
      {"ntlm", {"Microsoft-Windows-NTLM/Operational"}},
      {"windefend", {"Microsoft-Windows-Windows Defender/Operational"}},
      {"printservice-admin", {"Microsoft-Windows-PrintService/Admin"}},
      {"printservice-operational", {"Microsoft-Windows-PrintService/Operational"}},
      {"smbclient-security", {"Microsoft-Windows-SmbClient/Security"}},
      {"smbserver-connectivity", {"Microsoft-Windows-SMBServer/Connectivity"}},
      {"applocker",
       {"Microsoft-Windows-AppLocker/MSI and Script", "Microsoft-Windows-AppLocker/EXE and DLL",
        "Microsoft-Windows-AppLocker/Packaged app-Deployment", "Microsoft-Windows-AppLocker/Packaged app-Execution"}},
      {"msexchange-management", {"MSExchange Management"}},
      {"microsoft-servicebus-client", {"Microsoft-ServiceBus-Client"}},
      {"ldap", {"Microsoft-Windows-LDAP-Client/Debug"}},
      {"ldap_debug", {"Microsoft-Windows-LDAP-Client/Debug"}},
      {"codeintegrity-operational", {"Microsoft-Windows-CodeIntegrity/Operational"}},
      {"firewall-as", {"Microsoft-Windows-Windows Firewall With Advanced Security/Firewall"}},
      {"bits-client", {"Microsoft-Windows-Bits-Client/Operational"}},
      {"security-mitigations",
       {"Microsoft-Windows-Security-Mitigations/Kernel Mode", "Microsoft-Windows-Security-Mitigations/User Mode"}},
      {"terminalservices-localsessionmanager", {"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"}},
      {"shell-core", {"Microsoft-Windows-Shell-Core/Operational"}},
      {"openssh", {"OpenSSH/Operational"}},
      {"lsa-server", {"Microsoft-Windows-LSA/Operational"}},
      {"diagnosis-scripted", {"Microsoft-Windows-Diagnosis-Scripted/Operational"}},
      {"certificateservicesclient-lifecycle-system",
       {"Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational"}},
      {"capi2", {"Microsoft-Windows-CAPI2/Operational"}},
      {"appxdeployment-server", {"Microsoft-Windows-AppXDeploymentServer/Operational"}},
      {"appxpackaging-om", {"Microsoft-Windows-AppxPackaging/Operational"}},
      {"appmodel-runtime", {"Microsoft-Windows-AppModel-Runtime/Admin"}},
      {"iis-configuration", {"Microsoft-IIS-Configuration/Operational"}},
  };
  return kServices;
}

struct CategoryEvents {
  std::string_view category;
  std::vector<EventSource> sources;
};

// pySigma's Sysmon pipeline (category to EventID) and the Windows pipeline's PowerShell categories.
const std::vector<CategoryEvents>& categories() {
  auto sysmon = [](std::vector<uint32_t> ids) { return EventSource{std::string(kSysmon), std::move(ids)}; };
  static const std::vector<CategoryEvents> kCategories = {
      {"process_creation", {sysmon({1}), {"Security", {4688}}}},
      {"file_change", {sysmon({2})}},
      {"network_connection", {sysmon({3})}},
      {"sysmon_status", {sysmon({4, 16})}},
      {"process_termination", {sysmon({5})}},
      {"driver_load", {sysmon({6})}},
      {"image_load", {sysmon({7})}},
      {"create_remote_thread", {sysmon({8})}},
      {"raw_access_thread", {sysmon({9})}},
      {"process_access", {sysmon({10})}},
      {"file_event", {sysmon({11})}},
      {"registry_add", {sysmon({12})}},
      {"registry_delete", {sysmon({12})}},
      {"registry_set", {sysmon({13})}},
      {"registry_rename", {sysmon({14})}},
      {"registry_event", {sysmon({12, 13, 14})}},
      {"create_stream_hash", {sysmon({15})}},
      {"pipe_created", {sysmon({17, 18})}},
      {"wmi_event", {sysmon({19, 20, 21})}},
      {"dns_query", {sysmon({22})}},
      {"file_delete", {sysmon({23, 26})}},
      {"clipboard_capture", {sysmon({24})}},
      {"process_tampering", {sysmon({25})}},
      {"file_delete_detected", {sysmon({26})}},
      {"file_block_executable", {sysmon({27})}},
      {"file_block_shredding", {sysmon({28})}},
      {"file_executable_detected", {sysmon({29})}},
      {"sysmon_error", {sysmon({255})}},
      {"ps_module", {{std::string(kPowerShell), {4103}}}},
      {"ps_script", {{std::string(kPowerShell), {4104}}}},
      {"ps_classic_start", {{"Windows PowerShell", {400}}}},
      {"ps_classic_provider_start", {{"Windows PowerShell", {600}}}},
      {"ps_classic_script", {{"Windows PowerShell", {800}}}},
  };
  return kCategories;
}

}  // namespace

std::optional<LogsourceEvents> logsource_events(const Logsource& ls) {
  if (ls.product != "windows") return std::nullopt;
  LogsourceEvents out;
  if (!ls.category.empty()) {
    for (const auto& c : categories())
      if (c.category == ls.category) out.sources = c.sources;
    if (out.sources.empty()) return std::nullopt;
    // A category and a service together (sysmon with process_creation) narrow to the service's channel.
    if (!ls.service.empty()) {
      std::optional<LogsourceEvents> service = logsource_events({ls.product, ls.service, ""});
      if (!service) return std::nullopt;
      std::vector<EventSource> kept;
      for (auto& s : out.sources)
        for (const auto& t : service->sources)
          if (s.channel == t.channel) kept.push_back(s);
      if (kept.empty()) return std::nullopt;
      out.sources = std::move(kept);
    }
  } else if (!ls.service.empty()) {
    for (const auto& s : services())
      if (s.service == ls.service)
        for (auto ch : s.channels) out.sources.push_back({std::string(ch), {}});
    if (out.sources.empty()) return std::nullopt;
  } else {
    return std::nullopt;  // every Windows event: not a logsource SigmaHQ writes
  }
  for (const auto& s : out.sources) {
    out.key += s.channel + ":";
    for (uint32_t id : s.event_ids) out.key += fmt::format("{},", id);
    out.key += ";";
  }
  return out;
}

}  // namespace treeline::detect::sigma
