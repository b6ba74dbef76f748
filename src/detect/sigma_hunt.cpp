#include "detect/sigma_hunt.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <unordered_map>

#include "core/text.hpp"
#include "core/vocabulary.hpp"
#include "detect/sigma_correlate.hpp"
#include "detect/sigma_scan.hpp"
#include "graph/join_indexes.hpp"

namespace treeline::detect {
namespace {

// SigmaHQ's tags: attack.t1059.001 is technique T1059.001; tactics and other tags are not ids.
std::string attack_ids(const std::vector<std::string>& tags) {
  std::string out;
  for (const auto& t : tags) {
    if (t.size() < 9 || t.compare(0, 8, "attack.t") != 0 || !std::isdigit(static_cast<unsigned char>(t[8]))) continue;
    std::string id = "T" + t.substr(8);
    if (out.find(id) == std::string::npos) out += (out.empty() ? "" : ",") + id;
  }
  return out;
}

// Sigma's levels are the findings' severities; a rule without one is informational.
std::string severity_of(const std::string& level) { return severity_rank(level) >= 0 ? level : "informational"; }

// The processes the graph knows, by what a hit can name.
struct ProcessIndex {
  std::unordered_map<int64_t, size_t> by_event;        // the 4688 or Sysmon 1 that created it
  // A 4688's merged Sysmon 1: the fields it has and the 4688 does not (Hashes, OriginalFileName, ...).
  std::unordered_map<int64_t, std::vector<std::pair<std::string, std::string>>> twin_fields;
  std::unordered_map<std::string, size_t> by_guid;     // Sysmon ProcessGuid, as written
  std::map<std::string, std::vector<std::pair<int64_t, int>>> boots;  // host -> (start, boot), by start
  // Which session a logon id meant on a host at a time (the graph stage's index), and what the
  // finding says of it.
  std::optional<graph::SessionIndex> sessions;
  struct Session {
    std::string user, ip;
    std::optional<int64_t> logon_type;
  };
  std::unordered_map<std::string, Session> session_of;  // session_key -> its user, address, type
};

Expected<ProcessIndex> index_processes(store::Db& db, const Forest& f) {
  ProcessIndex ix;
  std::unordered_map<std::string, size_t> by_key;
  for (size_t i = 0; i < f.procs.size(); ++i) by_key.emplace(f.procs[i].key, i);
  auto st = db.prepare("SELECT process_key, create_event_pk, sysmon_event_pk, process_guid FROM processes");
  if (!st) return st.error();
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    auto it = by_key.find(st->column_text(0));
    if (it == by_key.end()) continue;
    if (!st->column_is_null(1)) ix.by_event.emplace(st->column_int(1), it->second);
    if (!st->column_is_null(2)) ix.by_event.emplace(st->column_int(2), it->second);
    if (!st->column_is_null(3)) ix.by_guid.emplace(to_lower_ascii(st->column_text(3)), it->second);
  }
  if (rc != SQLITE_DONE) return db.error("reading the processes for Sigma hits");
  auto boots = db.prepare("SELECT host, boot, coalesce(start_time, 0) FROM boots ORDER BY host, 3");
  if (!boots) return boots.error();
  while ((rc = boots->step()) == SQLITE_ROW)
    ix.boots[boots->column_text(0)].emplace_back(boots->column_int(2), static_cast<int>(boots->column_int(1)));
  if (rc != SQLITE_DONE) return db.error("reading the boots for Sigma hits");
  auto sessions = graph::SessionIndex::load(db);
  if (!sessions) return sessions.error();
  ix.sessions = std::move(*sessions);
  auto attrs = db.prepare(
      "SELECT session_key, CASE WHEN coalesce(user_domain, '') <> '' THEN user_domain || '\\' || user_name "
      "ELSE user_name END, ip_address, logon_type FROM sessions");
  if (!attrs) return attrs.error();
  while ((rc = attrs->step()) == SQLITE_ROW) {
    ProcessIndex::Session s;
    s.user = attrs->column_text(1);
    s.ip = attrs->column_text(2);
    if (!attrs->column_is_null(3)) s.logon_type = attrs->column_int(3);
    ix.session_of.emplace(attrs->column_text(0), std::move(s));
  }
  if (rc != SQLITE_DONE) return db.error("reading the sessions for Sigma hits");
  static constexpr const char* kTwinFields[] = {"CurrentDirectory", "Hashes", "OriginalFileName", "Description",
                                                "Product", "Company", "FileVersion", "LogonGuid", "ParentUser"};
  auto twins = db.prepare(
      "SELECT p.create_event_pk, sp.current_directory, sp.hashes, sp.original_file_name, sp.description, sp.product, "
      "sp.company, sp.file_version, sp.logon_guid, sp.parent_user FROM processes p "
      "JOIN sysmon_process sp ON sp.event_pk = p.sysmon_event_pk "
      "WHERE p.create_event_pk IS NOT NULL AND p.create_event_pk <> p.sysmon_event_pk");
  if (!twins) return twins.error();
  while ((rc = twins->step()) == SQLITE_ROW) {
    auto& fields = ix.twin_fields[twins->column_int(0)];
    for (int i = 0; i < static_cast<int>(std::size(kTwinFields)); ++i)
      if (!twins->column_is_null(i + 1)) fields.emplace_back(kTwinFields[i], twins->column_text(i + 1));
  }
  if (rc != SQLITE_DONE) return db.error("reading the Sysmon twins of 4688s");
  return ix;
}

// The hit's process; `created` says the event is the one that started it (its 4688 or Sysmon 1).
std::optional<size_t> process_of(const sigma::SigmaHit& h, const Forest& f, const ProcessIndex& ix, bool& created) {
  created = false;
  if (auto it = ix.by_event.find(h.event_pk); it != ix.by_event.end()) {
    created = true;
    return it->second;
  }
  if (!h.process_guid.empty())
    if (auto it = ix.by_guid.find(to_lower_ascii(h.process_guid)); it != ix.by_guid.end()) return it->second;
  auto pid = parse_windows_int(h.process_id);
  if (!pid || *pid <= 0) return std::nullopt;
  Proc at;
  at.host = std::string(h.host);
  at.start = h.time;
  if (auto b = ix.boots.find(std::string(h.host)); b != ix.boots.end())
    for (const auto& [start, boot] : b->second)
      if (start <= h.time) at.boot = boot;
  return f.resolve_pid(at, *pid);
}

// An event no process is known for may still name its logon (SubjectLogonId): the finding then
// says whose session it was, and from where, as a process's finding does.
void set_session(Finding& d, const sigma::SigmaHit& h, const ProcessIndex& ix) {
  auto id = parse_windows_int(h.logon_id);
  if (!id) return;
  auto it = ix.session_of.find(ix.sessions->at(std::string(h.host), *id, h.time));
  if (it == ix.session_of.end()) return;
  d.user = it->second.user;
  d.ip = it->second.ip;
  d.logon_type = it->second.logon_type;
}

std::string event_text(const sigma::SigmaHit& h) {
  return fmt::format("{} {} record {}{}", h.channel, h.event_id, h.record_id,
                     h.recovered ? " (recovered from free space)" : "");
}

// The rule's `name` where it gives one (an event.action-style name), else its file's name.
std::string action_of(const std::string& name, const std::string& file) {
  return !name.empty() ? name : std::filesystem::path(file).stem().string();
}

void set_process(Finding& d, const Proc& proc) {
  d.process_key = proc.key;
  d.user = proc.user;
  d.ip = proc.ip;
  d.logon_type = parse_windows_int(proc.logon_type);
  // The chain is the process itself, as a one-step chain rule's: its ancestry is the graph's,
  // shown by the report from the edges, not copied into every finding.
  d.chain.push_back(proc.key);
}

// The highest level and every ATT&CK tag of the rules a correlation counts, through nested ones:
// what a correlation that names neither inherits.
void inherited(const sigma::SigmaSet& set, const sigma::SigmaCorrelation& c, std::string& level,
               std::vector<std::string>& tags) {
  for (const auto& r : c.refs) {
    if (r.correlation) {
      inherited(set, set.correlations[r.index], level, tags);
      continue;
    }
    const sigma::SigmaRule& rule = set.rules[r.index];
    if (severity_rank(rule.level) > severity_rank(level)) level = rule.level;
    tags.insert(tags.end(), rule.tags.begin(), rule.tags.end());
  }
}

std::string duration_text(int64_t filetime_span) {
  const int64_t s = filetime_span / 10'000'000;
  if (s < 60) return fmt::format("{} s", s);
  if (s < 3600) return fmt::format("{} min {} s", s / 60, s % 60);
  return fmt::format("{} h {} min", s / 3600, (s % 3600) / 60);
}

std::shared_ptr<const RuleText> rule_text(const sigma::SigmaRule& r) {
  return std::make_shared<const RuleText>(
      RuleText{r.id, r.title, severity_of(r.level), action_of(r.name, r.file), attack_ids(r.tags), ""});
}

// A correlation's level and tags, or where it gives none those of the rules it counts.
std::shared_ptr<const RuleText> correlation_text(const sigma::SigmaSet& set, const sigma::SigmaCorrelation& c) {
  std::string level = c.level;
  std::vector<std::string> tags = c.tags;
  if (level.empty() || tags.empty()) {
    std::string rules_level;
    std::vector<std::string> rules_tags;
    inherited(set, c, rules_level, rules_tags);
    if (level.empty()) level = rules_level;
    if (tags.empty()) tags = rules_tags;
  }
  return std::make_shared<const RuleText>(RuleText{!c.id.empty() ? c.id : c.name, c.title, severity_of(level),
                                                   action_of(c.name, c.file), attack_ids(tags), ""});
}

template <typename ProcessOf>
Finding correlation_finding(std::shared_ptr<const RuleText> text, const sigma::SigmaCorrelation& c,
                            const sigma::CorrelationMatch& m, const sigma::Hits& hits, ProcessOf process_of,
                            const Forest& f) {
  using Type = sigma::SigmaCorrelation::Type;
  Finding d;
  d.rule = std::move(text);
  const sigma::SigmaHit& first = hits[m.hits.front()];
  d.host = std::string(first.host);
  d.time = m.first;
  std::vector<std::string> hosts;
  std::optional<std::optional<size_t>> one_process;  // the process of every event, if they share one
  std::string records;
  for (size_t k = 0; k < m.hits.size(); ++k) {
    const sigma::SigmaHit& h = hits[m.hits[k]];
    d.events.push_back(h.event_pk);
    if (std::find(hosts.begin(), hosts.end(), h.host) == hosts.end()) hosts.emplace_back(h.host);
    auto p = process_of(h);
    if (!one_process) one_process = p;
    else if (*one_process != p) one_process = std::optional<size_t>{};
    if (k < 5) records += fmt::format("{}{} {} record {}", k ? ", " : "", h.channel, h.event_id, h.record_id);
  }
  if (m.hits.size() > 5) records += fmt::format(" and {} more", m.hits.size() - 5);
  std::string group;
  for (const auto& [name, value] : m.group) {
    d.matched[name] = value;
    group += fmt::format("{}{}={}", group.empty() ? "" : ", ", name, value);
  }
  d.matched["count"] = m.count;
  std::string what;
  switch (c.type) {
    case Type::kEventCount: what = fmt::format("{} events", m.count); break;
    case Type::kValueCount: {
      what = fmt::format("{} distinct {}", m.count, c.field);
      auto& values = d.matched[c.field] = nlohmann::ordered_json::array();
      for (size_t k = 0; k < m.values.size() && k < 50; ++k) values.push_back(m.values[k]);
      break;
    }
    case Type::kTemporal: what = fmt::format("{} of its {} rules", m.count, c.refs.size()); break;
    case Type::kTemporalOrdered: what = fmt::format("its {} rules in order", c.refs.size()); break;
  }
  d.detail = fmt::format("Sigma correlation: {} within {}{}{}; {} event(s){}: {}", what, duration_text(m.last - m.first),
                         group.empty() ? "" : " for ", group, m.hits.size(),
                         hosts.size() > 1 ? fmt::format(" on {} hosts", hosts.size()) : "", records);
  if (one_process && *one_process) set_process(d, f.procs[**one_process]);
  else d.chain = nullptr;
  return d;
}

}  // namespace

Expected<std::vector<Finding>> sigma_findings(store::Db& db, const Forest& f, const sigma::SigmaSet& rules,
                                              HuntStats::Sigma& stats) {
  auto ix = index_processes(db, f);
  if (!ix) return ix.error();
  // A 4688 names its parent by PID and image only; the tree knows the parent's command line and
  // user, and a merged Sysmon 1 what Sysmon logs of the process. A parent the log never showed (a
  // placeholder) leaves its fields unknown: they match nothing. What the event has is kept.
  auto enrich = [&](int64_t event_pk, const std::function<void(std::string_view, std::string_view)>& add) {
    if (auto twin = ix->twin_fields.find(event_pk); twin != ix->twin_fields.end())
      for (const auto& [name, value] : twin->second) add(name, value);
    auto it = ix->by_event.find(event_pk);
    if (it == ix->by_event.end()) return;
    auto parent = f.links.parent(it->second);
    if (!parent || f.procs[*parent].placeholder) return;
    if (!f.procs[*parent].command_line.empty()) add("ParentCommandLine", f.procs[*parent].command_line);
    if (!f.procs[*parent].user.empty()) add("ParentUser", f.procs[*parent].user);
  };
  auto scan = sigma::scan_case(db, rules, enrich);
  if (!scan) return scan.error();
  stats.rules_run = static_cast<int64_t>(rules.rules.size() - scan->rules_without_events.size());
  stats.rules_without_events = static_cast<int64_t>(scan->rules_without_events.size());
  stats.events_scanned = scan->events_scanned;
  stats.evaluations = scan->evaluations;
  stats.hits = static_cast<int64_t>(scan->hits.size());
  std::vector<Finding> out;
  // Reserved at its most (one finding per hit): a vector of findings that grows by doubling holds
  // two copies of itself while it moves.
  out.reserve(static_cast<size_t>(std::count_if(scan->hits.begin(), scan->hits.end(), [&](const sigma::SigmaHit& h) {
    return rules.rules[h.rule].standalone;
  })));
  // A process logged by both its 4688 and its Sysmon 1 is one process: a rule that matches both
  // events is one finding on it, which names both.
  std::map<std::pair<size_t, size_t>, size_t> by_rule_process;
  // Correlations first: they read the hits whole, which the findings of single hits then take apart.
  // One text per rule and per correlation, shared by their findings.
  std::vector<std::shared_ptr<const RuleText>> texts(rules.rules.size()), correlation_texts(rules.correlations.size());
  sigma::CorrelateStats cstats;
  for (const auto& m : sigma::correlate(rules, scan->hits, cstats)) {
    const sigma::SigmaCorrelation& c = rules.correlations[m.correlation];
    ++stats.correlation_matches;
    if (!c.standalone) continue;  // counted by the correlation that names it
    if (!correlation_texts[m.correlation]) correlation_texts[m.correlation] = correlation_text(rules, c);
    out.push_back(correlation_finding(correlation_texts[m.correlation], c, m, scan->hits, [&](const sigma::SigmaHit& h) {
      bool created = false;
      return process_of(h, f, *ix, created);
    }, f));
    out.back().compact();
  }
  for (auto& h : scan->hits) {
    const sigma::SigmaRule& r = rules.rules[h.rule];
    if (!r.standalone) continue;  // a part of a correlation only
    bool created = false;
    const std::optional<size_t> p = process_of(h, f, *ix, created);
    if (p && created) {
      auto [it, fresh] = by_rule_process.try_emplace({h.rule, *p}, out.size());
      if (!fresh) {
        Finding& first = out[it->second];
        first.detail += "; " + event_text(h);
        first.events.push_back(h.event_pk);
        // The twin's fields join the first event's (rare: the text is read back for it).
        auto merged = nlohmann::ordered_json::parse(first.matched_text);
        const auto twin = nlohmann::ordered_json::parse(h.matched);
        for (const auto& [name, value] : twin.items())
          if (!merged.contains(name)) merged[name] = value;
        first.matched_text = merged.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        continue;
      }
    }
    Finding d;
    if (!texts[h.rule]) texts[h.rule] = rule_text(r);
    d.rule = texts[h.rule];
    d.host = std::string(h.host);
    d.time = h.time;
    d.detail = "Sigma, on " + event_text(h);
    d.events = {h.event_pk};
    if (p) {
      set_process(d, f.procs[*p]);
    } else {
      ++stats.hits_without_process;
      set_session(d, h, *ix);
    }
    // Held as text from here: the hit's (moved, never copied) and the one-process chain's.
    d.matched = nullptr;
    d.compact();
    d.matched_text = std::move(h.matched);
    out.push_back(std::move(d));
  }
  stats.ungrouped_hits = cstats.ungrouped;
  return out;
}

}  // namespace treeline::detect
