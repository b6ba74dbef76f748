#include "detect/sigma_hunt.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <unordered_map>

#include "core/text.hpp"
#include "core/vocabulary.hpp"
#include "detect/sigma_scan.hpp"

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
  std::unordered_map<std::string, size_t> by_guid;     // Sysmon ProcessGuid, as written
  std::map<std::string, std::vector<std::pair<int64_t, int>>> boots;  // host -> (start, boot), by start
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
  at.host = h.host;
  at.start = h.time;
  if (auto b = ix.boots.find(h.host); b != ix.boots.end())
    for (const auto& [start, boot] : b->second)
      if (start <= h.time) at.boot = boot;
  return f.resolve_pid(at, *pid);
}

}  // namespace

Expected<std::vector<Finding>> sigma_findings(store::Db& db, const Forest& f, const sigma::SigmaSet& rules,
                                              HuntStats::Sigma& stats) {
  auto ix = index_processes(db, f);
  if (!ix) return ix.error();
  // A 4688 names its parent by PID and image only; the tree knows the parent's command line.
  // A parent the log never showed (a placeholder) leaves the field unknown: it matches nothing.
  auto enrich = [&](int64_t event_pk, const std::function<void(std::string_view, std::string_view)>& add) {
    auto it = ix->by_event.find(event_pk);
    if (it == ix->by_event.end()) return;
    auto parent = f.links.parent(it->second);
    if (!parent || f.procs[*parent].placeholder) return;
    if (!f.procs[*parent].command_line.empty()) add("ParentCommandLine", f.procs[*parent].command_line);
  };
  auto scan = sigma::scan_case(db, rules, enrich);
  if (!scan) return scan.error();
  stats.rules_run = static_cast<int64_t>(rules.rules.size() - scan->rules_without_events.size());
  stats.rules_without_events = static_cast<int64_t>(scan->rules_without_events.size());
  stats.events_scanned = scan->events_scanned;
  stats.evaluations = scan->evaluations;
  stats.hits = static_cast<int64_t>(scan->hits.size());
  std::vector<Finding> out;
  out.reserve(scan->hits.size());
  // A process logged by both its 4688 and its Sysmon 1 is one process: a rule that matches both
  // events is one finding on it, which names both.
  std::map<std::pair<size_t, size_t>, size_t> by_rule_process;
  for (const auto& h : scan->hits) {
    const sigma::SigmaRule& r = rules.rules[h.rule];
    bool created = false;
    const std::optional<size_t> p = process_of(h, f, *ix, created);
    const std::string on = fmt::format("{} {} record {}{}", h.channel, h.event_id, h.record_id,
                                       h.recovered ? " (recovered from free space)" : "");
    if (p && created) {
      auto [it, fresh] = by_rule_process.try_emplace({h.rule, *p}, out.size());
      if (!fresh) {
        Finding& first = out[it->second];
        first.detail += "; " + on;
        for (const auto& [name, value] : h.matched)
          if (!first.matched.contains(name)) first.matched[name] = value;
        continue;
      }
    }
    Finding d;
    d.rule_id = r.id;
    d.title = r.title;
    d.severity = severity_of(r.level);
    d.action = !r.name.empty() ? r.name : std::filesystem::path(r.file).stem().string();
    d.attack = attack_ids(r.tags);
    d.host = h.host;
    d.time = h.time;
    for (const auto& [name, value] : h.matched) d.matched[name] = value;
    d.detail = "Sigma, on " + on;
    if (p) {
      const Proc& proc = f.procs[*p];
      d.process_key = proc.key;
      d.user = proc.user;
      d.ip = proc.ip;
      d.logon_type = parse_windows_int(proc.logon_type);
      // The chain is the process itself, as a one-step chain rule's: its ancestry is the graph's,
      // shown by the report from the edges, not copied into every finding.
      d.chain.push_back(proc.key);
    } else {
      ++stats.hits_without_process;
      d.chain = nullptr;
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace treeline::detect
