#pragma once
// Network and RDP logons tied to the process on another host of the case that made them. Pure
// matching over what the loader found (session_links.cpp reads the case and writes the result),
// so the rules can be tested without SQLite.
//
// A logon on B names its source host by address (learnt from the logs: host_addresses) or by
// WorkstationName; a logon with no address (WinRM's Kerberos, `-`) could come from any host, and
// the evidence decides. The evidence on a source host A, strongest first:
//   1. a 4648 on A naming B as the target server, for the logon's account, by that process;
//   2. a Sysmon 3 connection from that process to one of B's addresses (or B by name) on the
//      logon's service port (445, 139, 135, 5985/5986; 3389 for RDP);
//   3. a process on A whose command line names B (\\B\, /node:B, -ComputerName B, psexec \\B)
//      started shortly before.
// The first level with any evidence decides. Clocks differ between hosts: a first pass over the
// strong evidence (1 and 2) estimates each host pair's offset (median of B's time minus A's),
// and the matching windows are then taken around it. Where two processes fit equally, both are
// recorded as candidates and neither is linked: a wrong link is worse than none.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace treeline::graph {

struct RemoteLogon {
  std::string session_key;
  std::string host;         // B, short name
  int64_t time = 0;         // FILETIME, B's clock
  int logon_type = 0;
  std::string user;         // account name, lower-case, without domain
  std::string address;      // IpAddress as written ("-" when none)
  std::string workstation;  // WorkstationName, lower-case short name ("" when none)
};

enum class EvidenceKind { kExplicitCredentials = 0, kNetworkConnection = 1, kCommandLine = 2 };

struct RemoteEvidence {
  EvidenceKind kind = EvidenceKind::kCommandLine;
  std::string host;         // A, where it was logged
  std::string target;       // B, the case host it names
  int64_t time = 0;         // FILETIME, A's clock (a command line: its process's start)
  std::string process_key;  // empty: the record names no process we know
  std::string user;         // 4648: the target account, lower-case, without domain
  int port = 0;             // Sysmon 3: the destination port
};

struct ClockOffset {
  std::string source_host, target_host;
  double offset_seconds = 0;  // target's clock minus source's
  int pairs = 0;
  double spread_seconds = 0;
};

struct RemoteLink {
  std::string session_key;
  std::string source_host;  // empty: not from a host of the case (or unknown)
  std::string process_key;  // empty: not linked
  std::string method = "none";
  double confidence = 0;
  std::vector<std::string> candidates;  // several fit equally: none linked
  std::optional<double> clock_offset_seconds;
  std::string why_not;
};

// Addresses of the case's hosts; an address more than one host claims is not used.
class AddressBook {
 public:
  void add(const std::string& address, const std::string& host);
  // The one host with this address; empty when none or several.
  std::string host_of(const std::string& address) const;
  bool ambiguous(const std::string& address) const;
  const std::set<std::string>* addresses_of(const std::string& host) const;

 private:
  std::map<std::string, std::set<std::string>> hosts_by_address_;
  std::map<std::string, std::set<std::string>> addresses_by_host_;
};

// An address as the logs compare it: IPv4-mapped IPv6 as IPv4, lower-case; empty for none,
// loopback or unspecified ("-", "127.0.0.1", "::1", "0.0.0.0", "::").
std::string normalize_address(const std::string& address);

// The service ports a logon of this type arrives on.
bool service_port_for(int logon_type, int port);

std::vector<RemoteLink> match_remote_logons(const std::vector<RemoteLogon>& logons,
                                            const std::vector<RemoteEvidence>& evidence,
                                            const std::set<std::string>& case_hosts, const AddressBook& addresses,
                                            std::vector<ClockOffset>& offsets);

}  // namespace treeline::graph
