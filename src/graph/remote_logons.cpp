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
constexpr int64_t kClearlyNear = 2 * kSecond, kFarOff = 10 * kSecond;

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

// (A, process key) -> the nearest its evidence came to the logon (ticks, offset taken out).
using Found = std::map<std::pair<std::string, std::string>, int64_t>;

// One level's evidence decides: one process links; one far nearer than every other (within 2 s,
// the others 10 s or more away) links with less confidence; else the candidates are recorded
// and nothing is linked. Evidence naming no process we know is a candidate too.
void decide(RemoteLink& link, int level, const Found& found, bool by_evidence_only) {
  std::set<std::string> hosts;
  for (const auto& [where, near] : found) hosts.insert(where.first);
  if (hosts.size() == 1) link.source_host = *hosts.begin();
  std::vector<std::pair<int64_t, const std::pair<std::string, std::string>*>> by_distance;
  for (const auto& [where, near] : found) by_distance.emplace_back(near, &where);
  std::sort(by_distance.begin(), by_distance.end());
  const auto& best = *by_distance.front().second;
  const bool alone = found.size() == 1;
  const bool clearly_nearest = !alone && by_distance[0].first <= kClearlyNear && by_distance[1].first >= kFarOff;
  if ((alone || clearly_nearest) && !best.second.empty()) {
    link.method = kMethod[level];
    link.process_key = best.second;
    link.source_host = best.first;
    link.confidence = kConfidence[level] - (by_evidence_only ? 0.1 : 0.0) - (clearly_nearest ? 0.15 : 0.0);
    link.why_not.clear();
  } else if (alone) {
    link.why_not = fmt::format("the {} on {} names no process", level == 0 ? "4648" : "connection", best.first);
  } else {
    for (const auto& [where, near] : found)
      if (!where.second.empty()) link.candidates.push_back(where.second);
    link.why_not = fmt::format("{} processes fit equally ({})", found.size(), kMethod[level]);
  }
}

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
  if (a.empty() || a == "-" || a == "::1" || a == "::" || a == "0.0.0.0" || a.rfind("127.", 0) == 0 ||
      a == "0:0:0:0:0:0:0:1" || a == "0:0:0:0:0:0:0:0")
    return {};
  // Multicast and broadcast (a UDP datagram's "source" in Sysmon 3) name no host.
  if (a.rfind("ff", 0) == 0 && a.find(':') != std::string::npos) return {};
  if (a.find(':') == std::string::npos) {
    const int first = std::atoi(a.c_str());
    if ((first >= 224 && first <= 239) || (a.size() >= 4 && a.compare(a.size() - 4, 4, ".255") == 0)) return {};
  }
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
      Found found;
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
          auto [at, fresh] = found.try_emplace({a, e->process_key}, static_cast<int64_t>(std::llabs(delta)));
          if (!fresh) at->second = std::min(at->second, static_cast<int64_t>(std::llabs(delta)));
          if (off != offset_of.end()) used_offset = off->second;
        }
      }
      if (found.empty()) continue;
      link.clock_offset_seconds = used_offset;
      decide(link, level, found, s.by_evidence_only);
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
