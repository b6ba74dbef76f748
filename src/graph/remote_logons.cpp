#include "graph/remote_logons.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "core/text.hpp"

namespace treeline::graph {
namespace {

constexpr int64_t kSecond = 10'000'000;
constexpr int64_t kOffsetSearch = 300 * kSecond;  // how far apart a pair may be to estimate an offset

// How long after its evidence (clock offset taken out) a logon may arrive, per kind: a 4648 and
// a connection come within seconds; a command line starts its process a while before.
struct Window {
  int64_t before, after;
};
constexpr Window kWindows[] = {{5 * kSecond, 30 * kSecond}, {5 * kSecond, 30 * kSecond}, {5 * kSecond, 120 * kSecond}};
constexpr double kConfidence[] = {0.95, 0.9, 0.7};
constexpr const char* kMethod[] = {"explicit_credentials", "network_connection", "command_line"};

bool fits(const RemoteEvidence& e, const RemoteLogon& l) {
  if (e.kind == EvidenceKind::kExplicitCredentials) return e.user.empty() || e.user == l.user;
  if (e.kind == EvidenceKind::kNetworkConnection) return service_port_for(l.logon_type, e.port);
  return true;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

using PairKey = std::pair<std::string, std::string>;  // (A, B)

}  // namespace

void AddressBook::add(const std::string& address, const std::string& host) {
  const std::string a = normalize_address(address);
  if (a.empty() || host.empty()) return;
  hosts_by_address_[a].insert(host);
  addresses_by_host_[host].insert(a);
}

std::string AddressBook::host_of(const std::string& address) const {
  auto it = hosts_by_address_.find(normalize_address(address));
  if (it == hosts_by_address_.end() || it->second.size() != 1) return {};
  return *it->second.begin();
}

bool AddressBook::ambiguous(const std::string& address) const {
  auto it = hosts_by_address_.find(normalize_address(address));
  return it != hosts_by_address_.end() && it->second.size() > 1;
}

const std::set<std::string>* AddressBook::addresses_of(const std::string& host) const {
  auto it = addresses_by_host_.find(host);
  return it == addresses_by_host_.end() ? nullptr : &it->second;
}

std::string normalize_address(const std::string& address) {
  std::string a = to_lower_ascii(trim(address));
  if (a.rfind("::ffff:", 0) == 0 && a.find('.') != std::string::npos) a = a.substr(7);
  if (a.empty() || a == "-" || a == "::1" || a == "::" || a == "0.0.0.0" || a.rfind("127.", 0) == 0) return {};
  return a;
}

bool service_port_for(int logon_type, int port) {
  if (logon_type == 10) return port == 3389;
  return port == 445 || port == 139 || port == 135 || port == 5985 || port == 5986;
}

std::vector<RemoteLink> match_remote_logons(const std::vector<RemoteLogon>& logons,
                                            const std::vector<RemoteEvidence>& evidence,
                                            const std::set<std::string>& case_hosts, const AddressBook& addresses,
                                            std::vector<ClockOffset>& offsets) {
  // Evidence by (A, B), by time.
  std::map<PairKey, std::vector<const RemoteEvidence*>> by_pair;
  for (const RemoteEvidence& e : evidence) by_pair[{e.host, e.target}].push_back(&e);
  for (auto& [pair, list] : by_pair)
    std::sort(list.begin(), list.end(), [](const RemoteEvidence* a, const RemoteEvidence* b) { return a->time < b->time; });

  // The hosts each logon could have come from, and whether only the evidence says so.
  struct Sources {
    std::vector<std::string> hosts;
    bool by_evidence_only = false;
    std::string why_not;
  };
  auto sources_of = [&](const RemoteLogon& l) {
    Sources s;
    const std::string addr = normalize_address(l.address);
    const std::string by_address = addr.empty() ? std::string() : addresses.host_of(addr);
    const bool outside = !addr.empty() && by_address.empty() && !addresses.ambiguous(addr);
    if (!by_address.empty() && by_address != l.host) {
      s.hosts = {by_address};
    } else if (!l.workstation.empty() && l.workstation != l.host && case_hosts.count(l.workstation)) {
      s.hosts = {l.workstation};
    } else if (by_address == l.host || (addr.empty() && l.address != "-" && !l.address.empty())) {
      s.why_not = "a logon from this host itself";
    } else if (outside) {
      s.why_not = fmt::format("{} is not an address of a host in the case", l.address);
    } else {
      // No address (WinRM's Kerberos logons), or one several hosts claim: any other host.
      for (const std::string& h : case_hosts)
        if (h != l.host) s.hosts.push_back(h);
      s.by_evidence_only = true;
      if (s.hosts.empty()) s.why_not = "no other host in the case";
    }
    return s;
  };

  // Pass 1: each host pair's clock offset, from each logon's nearest strong evidence.
  std::map<PairKey, std::vector<double>> samples;
  std::vector<Sources> sources;
  sources.reserve(logons.size());
  for (const RemoteLogon& l : logons) {
    sources.push_back(sources_of(l));
    for (const std::string& a : sources.back().hosts) {
      auto it = by_pair.find({a, l.host});
      if (it == by_pair.end()) continue;
      const RemoteEvidence* nearest = nullptr;
      for (const RemoteEvidence* e : it->second) {
        if (e->kind == EvidenceKind::kCommandLine || !fits(*e, l) || std::llabs(l.time - e->time) > kOffsetSearch) continue;
        if (!nearest || std::llabs(l.time - e->time) < std::llabs(l.time - nearest->time)) nearest = e;
      }
      if (nearest) samples[{a, l.host}].push_back(static_cast<double>(l.time - nearest->time) / kSecond);
    }
  }
  std::map<PairKey, double> offset_of;
  offsets.clear();
  for (const auto& [pair, v] : samples) {
    const double m = median(v);
    offset_of[pair] = m;
    offsets.push_back({pair.first, pair.second, m, static_cast<int>(v.size()),
                       *std::max_element(v.begin(), v.end()) - *std::min_element(v.begin(), v.end())});
  }

  // Pass 2: per logon, the strongest level with evidence in its window decides.
  std::vector<RemoteLink> out;
  out.reserve(logons.size());
  for (size_t i = 0; i < logons.size(); ++i) {
    const RemoteLogon& l = logons[i];
    const Sources& s = sources[i];
    RemoteLink link;
    link.session_key = l.session_key;
    link.why_not = s.why_not;
    if (s.hosts.size() == 1) link.source_host = s.hosts.front();
    for (int level = 0; level < 3 && link.process_key.empty() && link.candidates.empty(); ++level) {
      std::set<std::pair<std::string, std::string>> found;  // (A, process key)
      std::optional<double> used_offset;
      for (const std::string& a : s.hosts) {
        auto it = by_pair.find({a, l.host});
        if (it == by_pair.end()) continue;
        auto off = offset_of.find({a, l.host});
        const int64_t shift = off == offset_of.end() ? 0 : static_cast<int64_t>(off->second * kSecond);
        for (const RemoteEvidence* e : it->second) {
          if (static_cast<int>(e->kind) != level || !fits(*e, l)) continue;
          const int64_t delta = l.time - shift - e->time;
          if (delta < -kWindows[level].before || delta > kWindows[level].after) continue;
          found.emplace(a, e->process_key);
          if (off != offset_of.end()) used_offset = off->second;
        }
      }
      if (found.empty()) continue;
      link.method = kMethod[level];
      link.clock_offset_seconds = used_offset;
      std::set<std::string> hosts;
      for (const auto& [a, key] : found) hosts.insert(a);
      if (hosts.size() == 1) link.source_host = *hosts.begin();
      if (found.size() == 1 && !found.begin()->second.empty()) {
        link.process_key = found.begin()->second;
        link.confidence = kConfidence[level] - (s.by_evidence_only ? 0.1 : 0.0);
        link.why_not.clear();
      } else if (found.size() == 1) {
        link.method = "none";
        link.why_not = fmt::format("the {} on {} names no process", level == 0 ? "4648" : "connection", *hosts.begin());
      } else {
        for (const auto& [a, key] : found)
          if (!key.empty()) link.candidates.push_back(key);
        link.method = "none";
        link.why_not = fmt::format("{} processes fit equally ({})", found.size(), kMethod[level]);
      }
    }
    if (link.process_key.empty() && link.candidates.empty() && link.why_not.empty())
      link.why_not = s.hosts.size() == 1
                         ? fmt::format("no 4648, Sysmon 3 or command line on {} points at {} then", s.hosts.front(), l.host)
                         : fmt::format("no host of the case points at {} then", l.host);
    out.push_back(std::move(link));
  }
  return out;
}

}  // namespace treeline::graph
