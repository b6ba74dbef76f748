#include "graph/session_links.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/regex.hpp"
#include "core/text.hpp"
#include "graph/remote_logons.hpp"

namespace treeline::graph {
namespace {

struct Origin {
  std::string session_key, method;
};

// The account part of "DOMAIN\user" or "user@domain", lower-case.
std::string account_name(std::string_view user) {
  if (auto slash = user.rfind('\\'); slash != std::string_view::npos) user = user.substr(slash + 1);
  if (auto at = user.find('@'); at != std::string_view::npos) user = user.substr(0, at);
  return to_lower_ascii(trim(user));
}

// A server name as a 4648 or a command line writes it ("\\SRV02", "srv02.corp.example.com"),
// as a short host name.
std::string server_short_name(std::string_view name) {
  name = trim(name);
  while (!name.empty() && name.front() == '\\') name.remove_prefix(1);
  return host_short_name(name);
}

// Type 9 logons to the session they were made in; the second half of a split token to its first.
Expected<std::map<std::string, Origin>> find_origins(store::Db& db, JoinIndexes& indexes) {
  std::map<std::string, Origin> origins;
  auto sessions = indexes.sessions();
  if (!sessions) return sessions.error();
  auto st = db.prepare(
      "SELECT s.session_key, s.host, s.start_time, s.logon_type, l.subject_logon_id, s.linked_session_key, "
      "s.logon_event_pk, ls.logon_event_pk FROM sessions s LEFT JOIN sec_logon l ON l.event_pk = s.logon_event_pk "
      "LEFT JOIN sessions ls ON ls.session_key = s.linked_session_key "
      "WHERE s.kind = 'logon' AND (s.logon_type = 9 OR s.linked_session_key IS NOT NULL)");
  if (!st) return st.error();
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    const std::string key = st->column_text(0);
    if (st->column_int(3) == 9 && !st->column_is_null(4)) {
      std::string origin = (*sessions)->at(st->column_text(1), st->column_int(4), st->column_int(2));
      if (!origin.empty() && origin != key) {
        origins[key] = {origin, "subject_logon_id"};
        continue;
      }
    }
    // Both halves name each other; the later one was made under the earlier.
    if (!st->column_is_null(5) && !st->column_is_null(7) && st->column_int(7) < st->column_int(6))
      origins[key] = {st->column_text(5), "linked_logon_id"};
  }
  if (rc != SQLITE_DONE) return db.error("reading the sessions' origins");
  return origins;
}

// What the cross-host matching reads from the case.
struct CrossHostInput {
  std::set<std::string> hosts;
  AddressBook addresses;
  std::map<std::tuple<std::string, std::string, std::string>, int64_t> address_rows;  // (host, address, evidence)
  std::vector<RemoteLogon> logons;
  std::vector<RemoteEvidence> evidence;

  void learn(const std::string& host, const std::string& address, const char* how) {
    const std::string a = normalize_address(address);
    if (a.empty() || !hosts.count(host)) return;
    addresses.add(a, host);
    ++address_rows[{host, a, how}];
  }
};

struct Connection {
  std::string host, guid, destination_ip, destination_name;
  int64_t time = 0, pid = 0;
  int port = 0;
};

bool is_true(const nlohmann::json& v) {
  if (v.is_boolean()) return v.get<bool>();
  return v.is_string() && to_lower_ascii(v.get<std::string>()) == "true";
}

// Sysmon 3: addresses of the hosts that logged them, and the outbound connections.
Status read_connections(store::Db& db, CrossHostInput& in, std::vector<Connection>& out) {
  auto st = db.prepare(
      "SELECT h.short_name, e.time, d.data FROM events e JOIN channels c ON c.channel_id = e.channel_id "
      "JOIN hosts h ON h.host_id = e.host_id JOIN event_data d ON d.event_pk = e.event_pk "
      "WHERE e.event_id = 3 AND c.name = 'Microsoft-Windows-Sysmon/Operational'");
  if (!st) return st.error();
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    auto data = nlohmann::json::parse(st->column_text(2), nullptr, false);
    if (!data.is_object()) continue;  // a damaged record's data: names nothing
    const std::string host = st->column_text(0);
    const bool initiated = data.contains("Initiated") && is_true(data["Initiated"]);
    // Sysmon puts the local end first either way; Initiated says which end connected.
    in.learn(host, data_field(data, "SourceIp"), "sysmon_source");
    if (!initiated) continue;
    Connection c;
    c.host = host;
    c.time = st->column_int(1);
    c.guid = to_lower_ascii(data_field(data, "ProcessGuid"));
    c.pid = parse_windows_int(data_field(data, "ProcessId")).value_or(0);
    c.destination_ip = data_field(data, "DestinationIp");
    c.destination_name = server_short_name(data_field(data, "DestinationHostname"));
    c.port = static_cast<int>(parse_windows_int(data_field(data, "DestinationPort")).value_or(0));
    if (in.hosts.count(c.destination_name) && c.destination_name != host)
      in.learn(c.destination_name, c.destination_ip, "sysmon_destination_name");
    out.push_back(std::move(c));
  }
  if (rc != SQLITE_DONE) return db.error("reading the Sysmon network connections");
  return Ok{};
}

Status read_cross_host(store::Db& db, JoinIndexes& indexes, CrossHostInput& in) {
  int rc;
  // Network and RDP logons, which also say the client's address by its name.
  auto lo = db.prepare(
      "SELECT session_key, host, start_time, logon_type, coalesce(user_name, ''), coalesce(ip_address, ''), "
      "coalesce(workstation_name, '') FROM sessions WHERE kind = 'logon' AND logon_type IN (3, 8, 10) "
      "AND start_time IS NOT NULL ORDER BY host, start_time, session_key");
  if (!lo) return lo.error();
  while ((rc = lo->step()) == SQLITE_ROW) {
    RemoteLogon l{lo->column_text(0), lo->column_text(1), lo->column_int(2), static_cast<int>(lo->column_int(3)),
                  account_name(lo->column_text(4)), lo->column_text(5), server_short_name(lo->column_text(6))};
    if (l.workstation == "-") l.workstation.clear();
    if (!l.workstation.empty() && l.workstation != l.host) in.learn(l.workstation, l.address, "logon_workstation");
    in.logons.push_back(std::move(l));
  }
  if (rc != SQLITE_DONE) return db.error("reading the network logons");

  std::vector<Connection> connections;
  if (auto s = read_connections(db, in, connections); !s) return s;

  // 4648s, whose address is the target server's.
  auto ex = db.prepare(
      "SELECT host, time_ft, coalesce(target_user, ''), coalesce(target_server_name, ''), coalesce(ip_address, ''), "
      "coalesce(process_key, '') FROM explicit_logons");
  if (!ex) return ex.error();
  struct Explicit {
    std::string host, user, server, address, process;
    int64_t time;
  };
  std::vector<Explicit> explicit_logons;
  while ((rc = ex->step()) == SQLITE_ROW) {
    Explicit x{ex->column_text(0), account_name(ex->column_text(2)), server_short_name(ex->column_text(3)),
               ex->column_text(4), ex->column_text(5), ex->column_int(1)};
    if (in.hosts.count(x.server) && x.server != x.host) in.learn(x.server, x.address, "explicit_logon_target");
    explicit_logons.push_back(std::move(x));
  }
  if (rc != SQLITE_DONE) return db.error("reading the explicit logons");

  // Now that the addresses are known: the evidence, each naming the case host it points at.
  for (const Explicit& x : explicit_logons) {
    std::string target = in.hosts.count(x.server) ? x.server : in.addresses.host_of(x.address);
    if (target.empty() || target == x.host) continue;
    in.evidence.push_back({EvidenceKind::kExplicitCredentials, x.host, target, x.time, x.process, x.user, 0});
  }
  // Connections name their process by ProcessGuid (Sysmon's own) or by PID at that time.
  std::map<std::pair<std::string, std::string>, std::string> by_guid;
  {
    auto g = db.prepare("SELECT host, lower(process_guid), process_key FROM processes WHERE process_guid IS NOT NULL");
    if (!g) return g.error();
    while ((rc = g->step()) == SQLITE_ROW) by_guid[{g->column_text(0), g->column_text(1)}] = g->column_text(2);
    if (rc != SQLITE_DONE) return db.error("reading the processes by ProcessGuid");
  }
  auto pids = indexes.pids();
  if (!pids) return pids.error();
  for (const Connection& c : connections) {
    std::string target = in.addresses.host_of(c.destination_ip);
    if (target.empty() && in.hosts.count(c.destination_name)) target = c.destination_name;
    if (target.empty() || target == c.host) continue;
    std::string process;
    if (auto it = by_guid.find({c.host, c.guid}); it != by_guid.end()) process = it->second;
    else if (const PidIndex::Process* p = (*pids)->at(c.host, c.pid, c.time)) process = p->key;
    in.evidence.push_back({EvidenceKind::kNetworkConnection, c.host, target, c.time, process, "", c.port});
  }
  // Command lines naming another host of the case, by name or address.
  std::map<std::string, Regex> names_target;
  for (const std::string& h : in.hosts) {
    std::string alt = Regex::quote(h) + R"((?:\.[a-z0-9-]+)*)";
    if (const auto* addrs = in.addresses.addresses_of(h))
      for (const std::string& a : *addrs) alt += "|" + Regex::quote(a);
    auto re = Regex::compile(fmt::format(R"((?i)(?:\\\\(?:{0})(?:[\\\s"']|$)|/node:\s*["']?(?:{0})\b|-(?:computername|cn)\s+["']?(?:{0})\b))", alt));
    if (re) names_target.emplace(h, std::move(*re));
  }
  auto cl = db.prepare(
      "SELECT host, start_time, process_key, command_line FROM processes WHERE source <> 'placeholder' "
      "AND start_time IS NOT NULL AND (command_line LIKE '%\\\\%' OR command_line LIKE '%/node:%' "
      "OR command_line LIKE '%-computername%' OR command_line LIKE '%-cn %')");
  if (!cl) return cl.error();
  while ((rc = cl->step()) == SQLITE_ROW) {
    const std::string host = cl->column_text(0), cmd = cl->column_text(3);
    for (const auto& [target, re] : names_target)
      if (target != host && re.search(cmd))
        in.evidence.push_back({EvidenceKind::kCommandLine, host, target, cl->column_int(1), cl->column_text(2), "", 0});
  }
  if (rc != SQLITE_DONE) return db.error("reading the command lines that name other hosts");
  return Ok{};
}

}  // namespace

Expected<SessionLinkStats> write_session_links(store::Db& db, JoinIndexes& indexes) {
  SessionLinkStats stats;
  if (auto s = db.exec("DELETE FROM session_links; DELETE FROM host_addresses; DELETE FROM host_clock_offsets"); !s)
    return s.error();
  auto origins = find_origins(db, indexes);
  if (!origins) return origins.error();
  stats.origins = static_cast<int64_t>(origins->size());

  // Across hosts only where the case has more than one.
  CrossHostInput in;
  {
    auto h = db.prepare("SELECT DISTINCT host FROM processes UNION SELECT DISTINCT host FROM sessions");
    if (!h) return h.error();
    int rc;
    while ((rc = h->step()) == SQLITE_ROW) in.hosts.insert(h->column_text(0));
    if (rc != SQLITE_DONE) return db.error("reading the case's hosts");
  }
  std::vector<RemoteLink> links;
  std::vector<ClockOffset> offsets;
  if (in.hosts.size() > 1) {
    if (auto s = read_cross_host(db, indexes, in); !s) return s.error();
    links = match_remote_logons(in.logons, in.evidence, in.hosts, in.addresses, offsets);
  }

  auto ins = db.prepare(
      "INSERT INTO session_links (session_key, origin_session_key, origin_method, source_host, source_process_key, "
      "source_link_method, source_link_confidence, source_candidates, clock_offset_seconds, source_why_not) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins) return ins.error();
  auto put = [&](const std::string& key, const Origin* origin, const RemoteLink* link) -> Status {
    ins->reset();
    ins->bind(1, std::string_view(key));
    ins->bind_text_or_null(2, origin ? origin->session_key : "");
    ins->bind(3, std::string_view(origin ? origin->method : "none"));
    ins->bind(6, std::string_view(link ? link->method : "none"));
    if (link) {
      ins->bind_text_or_null(4, link->source_host);
      ins->bind_text_or_null(5, link->process_key);
      if (!link->process_key.empty()) ins->bind_double(7, link->confidence);
      if (!link->candidates.empty()) ins->bind(8, std::string_view(nlohmann::json(link->candidates).dump()));
      if (link->clock_offset_seconds) ins->bind_double(9, *link->clock_offset_seconds);
      ins->bind_text_or_null(10, link->why_not);
    }
    if (ins->step() != SQLITE_DONE) return db.error("writing a session's links");
    return Ok{};
  };
  for (const RemoteLink& link : links) {
    ++stats.remote_logons;
    if (!link.process_key.empty()) ++stats.remote_linked;
    if (!link.candidates.empty()) ++stats.remote_ambiguous;
    auto origin = origins->find(link.session_key);
    // A logon from outside the case with nothing else to say needs no row: the address says it.
    if (link.source_host.empty() && link.candidates.empty() && origin == origins->end() &&
        link.why_not.find("not an address of a host") != std::string::npos)
      continue;
    if (auto s = put(link.session_key, origin == origins->end() ? nullptr : &origin->second, &link); !s) return s.error();
    if (origin != origins->end()) origins->erase(origin);
  }
  for (const auto& [key, origin] : *origins)
    if (auto s = put(key, &origin, nullptr); !s) return s.error();

  auto addr = db.prepare("INSERT INTO host_addresses (host, address, evidence, seen) VALUES (?, ?, ?, ?)");
  if (!addr) return addr.error();
  for (const auto& [row, seen] : in.address_rows) {
    addr->reset();
    addr->bind(1, std::string_view(std::get<0>(row)));
    addr->bind(2, std::string_view(std::get<1>(row)));
    addr->bind(3, std::string_view(std::get<2>(row)));
    addr->bind(4, seen);
    if (addr->step() != SQLITE_DONE) return db.error("writing a host address");
  }
  auto off = db.prepare(
      "INSERT INTO host_clock_offsets (source_host, target_host, offset_seconds, pairs, spread_seconds) VALUES (?, ?, ?, ?, ?)");
  if (!off) return off.error();
  for (const ClockOffset& o : offsets) {
    off->reset();
    off->bind(1, std::string_view(o.source_host));
    off->bind(2, std::string_view(o.target_host));
    off->bind_double(3, o.offset_seconds);
    off->bind(4, static_cast<int64_t>(o.pairs));
    off->bind_double(5, o.spread_seconds);
    if (off->step() != SQLITE_DONE) return db.error("writing a clock offset");
    ++stats.clock_offsets;
  }
  return stats;
}

}  // namespace treeline::graph
