// The story joins of the graph stage (script blocks, explicit logons), end to end on SIEM exports
// written with known truth.
#include "siem_export.hpp"

using namespace treeline;
using namespace treeline::test;

TEST_CASE("Script blocks are reassembled in order, with the parts the log lacks named, and tied to their process", "[graph][story]") {
  Hunted h;
  hunt_export(h, [](Export& e) {
    e.add("WKS07.corp.local", 0, "Security", 4624,
          {{"TargetUserName", "alice"}, {"TargetDomainName", "CORP"}, {"TargetLogonId", "0x5a3c1"},
           {"LogonType", "3"}, {"LogonProcessName", "NtLmSsp"}, {"AuthenticationPackageName", "NTLM"},
           {"IpAddress", "10.0.0.66"}, {"KeyLength", "128"}});
    e.add("WKS07.corp.local", 5, "Security", 4688,
          {{"SubjectUserName", "alice"}, {"SubjectDomainName", "CORP"}, {"SubjectLogonId", "0x5a3c1"},
           {"NewProcessId", "0x1a2c"}, {"NewProcessName", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"},
           {"ProcessId", "0x1f00"}, {"CommandLine", "powershell.exe -enc SQBFAFgA"},
           {"ParentProcessName", "C:\\Windows\\System32\\cmd.exe"}});
    auto part = [&](double t, const std::string& id, int n, int total, const std::string& text, int pid) {
      e.add("WKS07.corp.local", t, "Microsoft-Windows-PowerShell/Operational", 4104,
            {{"MessageNumber", std::to_string(n)}, {"MessageTotal", std::to_string(total)}, {"ScriptBlockId", id},
             {"ScriptBlockText", text}, {"Path", ""}},
            "Microsoft-Windows-PowerShell", pid);
    };
    // Logged out of order, the second of three parts lost.
    part(6.2, "{aa}", 3, 3, "-Uri $u", 0x1a2c);
    part(6.0, "{aa}", 1, 3, "$u = 'http://10.0.0.66/s2'; ", 0x1a2c);
    part(9.0, "{bb}", 1, 1, "Get-Date", 4242);  // a PID no process held: no process
  });
  auto row = [&](const std::string& sql) { return test::scalar(h.db, sql); };
  CHECK(row("SELECT count(*) FROM script_blocks") == 2);
  CHECK(row("SELECT count(*) FROM script_blocks WHERE script_block_id = '{aa}' AND parts_total = 3 AND parts_seen = 2 "
            "AND missing_parts = '2' AND text = '$u = ''http://10.0.0.66/s2''; [part 2 of 3 not in the log]-Uri $u' "
            "AND image LIKE '%\\powershell.exe' AND pid = 6700 AND link_method = 'execution_pid' "
            "AND link_confidence = 1.0 AND user_name = 'CORP\\alice' AND logon_type = 3 AND ip_address = '10.0.0.66' "
            "AND time_utc = '2024-03-01T08:00:06.0000000Z'") == 1);
  CHECK(row("SELECT count(*) FROM script_blocks WHERE script_block_id = '{bb}' AND process_key IS NULL "
            "AND link_method = 'none' AND missing_parts IS NULL AND text = 'Get-Date'") == 1);
}

TEST_CASE("A 4648 is tied to the process that used the credentials, checked by its name, and to its session", "[graph][story]") {
  Hunted h;
  hunt_export(h, [](Export& e) {
    e.add("WKS07.corp.local", 0, "Security", 4624,
          {{"TargetUserName", "alice"}, {"TargetDomainName", "CORP"}, {"TargetLogonId", "0x5a3c1"},
           {"LogonType", "2"}, {"LogonProcessName", "User32"}, {"AuthenticationPackageName", "Negotiate"},
           {"IpAddress", "127.0.0.1"}, {"KeyLength", "0"}});
    e.add("WKS07.corp.local", 5, "Security", 4688,
          {{"SubjectUserName", "alice"}, {"SubjectDomainName", "CORP"}, {"SubjectLogonId", "0x5a3c1"},
           {"NewProcessId", "0x1f00"}, {"NewProcessName", "C:\\Tools\\PsExec64.exe"}, {"ProcessId", "0x1000"},
           {"CommandLine", "PsExec64.exe \\\\fs01 -u CORP\\admin_it cmd"}, {"ParentProcessName", "C:\\Windows\\explorer.exe"}});
    auto used = [&](double t, const std::string& pid, const std::string& name, const std::string& server) {
      e.add("WKS07.corp.local", t, "Security", 4648,
            {{"SubjectUserName", "alice"}, {"SubjectDomainName", "CORP"}, {"SubjectLogonId", "0x5a3c1"},
             {"TargetUserName", "admin_it"}, {"TargetDomainName", "CORP"}, {"TargetServerName", server},
             {"ProcessId", pid}, {"ProcessName", name}, {"IpAddress", "10.0.0.21"}, {"IpPort", "445"}});
    };
    used(6, "0x1f00", "C:\\Tools\\PsExec64.exe", "fs01");          // the process, named right
    used(7, "0x1f00", "C:\\Windows\\System32\\svchost.exe", "fs02");  // the PID, another image: no link
    used(8, "0x2222", "C:\\Windows\\System32\\runas.exe", "fs03");    // a PID no process held: the session only
  });
  auto row = [&](const std::string& sql) { return test::scalar(h.db, sql); };
  CHECK(row("SELECT count(*) FROM explicit_logons") == 3);
  CHECK(row("SELECT count(*) FROM explicit_logons WHERE target_server_name = 'fs01' AND image LIKE '%PsExec64.exe' "
            "AND link_method = 'pid_time_name' AND link_confidence = 1.0 AND target_user = 'CORP\\admin_it' "
            "AND subject_user = 'CORP\\alice' AND logon_type = 2 AND session_key IS NOT NULL") == 1);
  CHECK(row("SELECT count(*) FROM explicit_logons WHERE target_server_name = 'fs02' AND process_key IS NULL "
            "AND why_not LIKE '%PsExec64.exe%' AND link_method = 'logon_id' AND logon_type = 2") == 1);
  CHECK(row("SELECT count(*) FROM explicit_logons WHERE target_server_name = 'fs03' AND process_key IS NULL "
            "AND why_not = 'no logged process held that PID then' AND session_key IS NOT NULL") == 1);
}

TEST_CASE("A service install is tied to the command that created it, its session and the service's own process", "[graph][story]") {
  Hunted h;
  hunt_export(h, [](Export& e) {
    e.add("SRV01.corp.local", 0, "Security", 4624,
          {{"TargetUserName", "mallory"}, {"TargetDomainName", "CORP"}, {"TargetLogonId", "0x7b2d"},
           {"LogonType", "3"}, {"LogonProcessName", "NtLmSsp"}, {"AuthenticationPackageName", "NTLM"},
           {"IpAddress", "10.0.0.66"}, {"KeyLength", "128"}});
    auto process = [&](double t, const std::string& pid, const std::string& ppid, const std::string& image,
                       const std::string& parent, const std::string& cmd, const std::string& logon) {
      e.add("SRV01.corp.local", t, "Security", 4688,
            {{"SubjectUserName", "mallory"}, {"SubjectDomainName", "CORP"}, {"SubjectLogonId", logon},
             {"NewProcessId", pid}, {"NewProcessName", image}, {"ProcessId", ppid}, {"CommandLine", cmd},
             {"ParentProcessName", parent}});
    };
    process(-100, "0x2c0", "0x1f0", "C:\\Windows\\System32\\services.exe", "C:\\Windows\\System32\\wininit.exe",
            "C:\\Windows\\system32\\services.exe", "0x3e7");
    process(10, "0x1a00", "0x1100", "C:\\Windows\\System32\\sc.exe", "C:\\Windows\\System32\\cmd.exe",
            "sc.exe create \"evilsvc\" binPath= \"C:\\Windows\\Temp\\evil.exe\" start= demand", "0x7b2d");
    auto install = [&](double t, const std::string& name, const std::string& image) {
      e.add("SRV01.corp.local", t, "System", 7045,
            {{"ServiceName", name}, {"ImagePath", image}, {"ServiceType", "user mode service"},
             {"StartType", "demand start"}, {"AccountName", "LocalSystem"}},
            "Service Control Manager");
    };
    install(11, "evilsvc", "\"C:\\Windows\\Temp\\evil.exe\"");
    e.add("SRV01.corp.local", 11, "Security", 4697,
          {{"SubjectLogonId", "0x7b2d"}, {"ServiceName", "evilsvc"}, {"ServiceFileName", "C:\\Windows\\Temp\\evil.exe"},
           {"ServiceType", "0x10"}, {"ServiceStartType", "3"}, {"ServiceAccount", "LocalSystem"}});
    process(12, "0x1b00", "0x2c0", "C:\\Windows\\Temp\\evil.exe", "C:\\Windows\\System32\\services.exe",
            "C:\\Windows\\Temp\\evil.exe", "0x3e7");
    // No command created it, and its image ran only 20 minutes later: neither is tied.
    install(100, "updater", "%SystemRoot%\\upd.exe -service");
    process(1300, "0x1c00", "0x2c0", "C:\\Windows\\upd.exe", "C:\\Windows\\System32\\services.exe",
            "C:\\Windows\\upd.exe -service", "0x3e7");
  });
  auto row = [&](const std::string& sql) { return test::scalar(h.db, sql); };
  CHECK(row("SELECT count(*) FROM services_installed") == 3);
  CHECK(row("SELECT count(*) FROM services_installed WHERE event_id = 7045 AND service_name = 'evilsvc' "
            "AND installer_image LIKE '%\\sc.exe' AND installer_method = 'command_line' AND installer_user = 'CORP\\mallory' "
            "AND ip_address = '10.0.0.66' AND service_pid = 6912 AND service_link_method = 'services_child_image' "
            "AND start_type = 'demand start' AND account = 'LocalSystem'") == 1);
  CHECK(row("SELECT count(*) FROM services_installed WHERE event_id = 4697 AND installer_method = 'command_line' "
            "AND service_pid = 6912") == 1);
  CHECK(row("SELECT count(*) FROM services_installed WHERE service_name = 'updater' AND installer_method = 'none' "
            "AND process_key IS NULL AND service_process_key IS NULL AND image_path = '%SystemRoot%\\upd.exe -service'") == 1);
}
