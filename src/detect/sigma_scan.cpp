#include "detect/sigma_scan.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <optional>
#include <unordered_map>

#include "core/text.hpp"
#include "core/vocabulary.hpp"
#include "detect/sigma_logsource.hpp"
#include "detect/sigma_event_fields.hpp"
#include "detect/sigma_prefilter.hpp"
#include "store/case_db.hpp"

namespace treeline::detect::sigma {
namespace {

// The fields a rule tests by name, in the order it names them, each once.
std::vector<std::string> tested_fields(const SigmaRule& rule) {
  std::vector<std::string> out;
  for (const auto& s : rule.searches)
    for (const auto& all : s.any_of)
      for (const auto& c : all)
        if (!c.field.empty() && std::find(out.begin(), out.end(), c.field) == out.end()) out.push_back(c.field);
  return out;
}

// A hit of rule `r` on the event the statement is on and `fields` hold.
SigmaHit make_hit(size_t r, const SigmaRule& rule, const store::Stmt& st, const EventFields& fields,
                  const std::vector<std::string>& tested, std::string_view channel, std::string_view host) {
  SigmaHit h;
  h.rule = static_cast<uint32_t>(r);
  h.event_pk = st.column_int(0);
  h.channel = channel;
  h.event_id = static_cast<uint16_t>(st.column_int(3));
  h.host = host;
  h.time = st.column_int(7);
  h.record_id = st.column_int(8);
  h.recovered = st.column_int(9) != 0;
  const bool access = h.event_id == 10 && h.channel != "Security";  // Sysmon's process access
  h.process_guid = fields.get(access ? "SourceProcessGuid" : "ProcessGuid");
  h.process_id = fields.get(access ? "SourceProcessId" : "ProcessId");
  h.logon_id = fields.get("SubjectLogonId");
  // A script block names no process: the PowerShell host that logged it is the one that ran it.
  if (h.process_guid.empty() && h.process_id.empty() && !st.column_is_null(10) && is_powershell_channel(channel))
    h.process_id = std::to_string(st.column_int(10));
  // A rule only a correlation counts is never shown: its hits keep what the correlation groups by.
  if (rule.standalone) {
    nlohmann::ordered_json matched = nlohmann::ordered_json::object();
    for (const auto& name : tested)
      if (auto v = fields.field(name)) matched[name] = *v;
    // Event text is not always valid UTF-8: a bad byte becomes U+FFFD, not an exception.
    h.matched = matched.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  for (const auto& name : rule.captured)
    if (auto v = fields.field(name)) h.captured.emplace_back(name, std::string(*v));
  return h;
}

// A logsource's rules, and the events they mean: read once for all of them.
struct Group {
  LogsourceEvents events;
  std::vector<size_t> rules;
};

// One piece of the work: a group's source over a range of event_pk.
struct Unit {
  size_t group = 0, source = 0;
  int64_t lo = 0, hi = 0;  // event_pk in [lo, hi)
};

// Each event is tried only against the rules its EventID allows, and of those only the ones
// whose necessary literals it holds (sigma_prefilter.hpp). Built per thread: a prefilter keeps
// scratch state per event.
class GroupMatcher {
 public:
  GroupMatcher(const SigmaSet& set, const Group& g) : set_(set) {
    for (size_t r : g.rules) {
      if (!set.rules[r].event_ids) any_id_.rules.push_back(r);
      else
        for (int64_t id : *set.rules[r].event_ids) by_id_[id].rules.push_back(r);
    }
  }

  // The rules to evaluate in full on this event.
  void candidates(int64_t event_id, const EventFields& fields, std::vector<size_t>& to_run) {
    to_run.clear();
    auto with_id = by_id_.find(event_id);
    for (Bucket* b : {&any_id_, with_id == by_id_.end() ? nullptr : &with_id->second}) {
      if (!b || b->rules.empty()) continue;
      if (!b->prefilter) {
        std::vector<const SigmaRule*> rules;
        for (size_t r : b->rules) rules.push_back(&set_.rules[r]);
        b->prefilter.emplace(rules);
      }
      b->prefilter->candidates(fields, scratch_);
      for (size_t c : scratch_) to_run.push_back(b->rules[c]);
    }
  }

 private:
  struct Bucket {
    std::vector<size_t> rules;
    std::optional<Prefilter> prefilter;
  };
  const SigmaSet& set_;
  Bucket any_id_;
  std::unordered_map<int64_t, Bucket> by_id_;
  std::vector<size_t> scratch_;
};

struct WorkerResult {
  Hits hits;
  int64_t events_scanned = 0, evaluations = 0;
  std::optional<Error> error;
};

// Scans the units it takes from `next` until none is left (or another worker failed).
void scan_units(store::Db& db, const SigmaSet& set, const std::vector<Group>& groups, const std::vector<Unit>& units,
                std::atomic<size_t>& next, std::atomic<bool>& failed, const Enrich& enrich,
                const std::vector<std::vector<std::string>>& tested, WorkerResult& out) {
  EventFields fields;
  std::vector<std::optional<GroupMatcher>> matchers(groups.size());
  std::vector<size_t> to_run;
  for (size_t u; !failed && (u = next++) < units.size();) {
    const Unit& unit = units[u];
    const EventSource& source = groups[unit.group].events.sources[unit.source];
    if (!matchers[unit.group]) matchers[unit.group].emplace(set, groups[unit.group]);
    GroupMatcher& matcher = *matchers[unit.group];
    std::string ids;
    for (uint32_t id : source.event_ids) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
    auto st = db.prepare(fmt::format(
        "SELECT event_pk, channel, coalesce(provider, ''), event_id, host, coalesce(data, ''), host_short, time_ft, "
        "record_id, recovered, execution_pid FROM events_v "
        "WHERE channel = ?1 AND event_pk >= ?2 AND event_pk < ?3{} ORDER BY event_pk",
        ids.empty() ? "" : fmt::format(" AND event_id IN ({})", ids)));
    if (!st) {
      out.error = st.error();
      failed = true;
      return;
    }
    st->bind(1, std::string_view(source.channel));
    st->bind(2, unit.lo);
    st->bind(3, unit.hi);
    const bool sysmon = source.channel == "Microsoft-Windows-Sysmon/Operational";
    const std::string_view channel = intern_name(source.channel);
    std::string last_host;
    std::string_view host;
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) {
      ++out.events_scanned;
      const int64_t id = st->column_int(3);
      fields.reset(st->column_text(1), st->column_text(2), id, st->column_text(4), st->column_text(5));
      if (enrich && ((id == 4688 && source.channel == "Security") || (id == 1 && sysmon)))
        enrich(st->column_int(0), [&](std::string_view name, std::string_view value) { fields.add_missing(name, value); });
      matcher.candidates(id, fields, to_run);
      out.evaluations += static_cast<int64_t>(to_run.size());
      for (size_t r : to_run)
        if (set.rules[r].matches(fields)) {
          if (host.empty() || st->column_text(6) != last_host) {
            last_host = st->column_text(6);
            host = intern_name(last_host);
          }
          out.hits.push_back(make_hit(r, set.rules[r], *st, fields, tested[r], channel, host));
        }
    }
    if (rc != SQLITE_DONE) {
      out.error = db.error("reading events for Sigma rules");
      failed = true;
      return;
    }
  }
}

}  // namespace

std::string_view intern_name(std::string_view name) {
  static std::mutex m;
  static std::set<std::string, std::less<>> names;  // nodes: a name never moves
  std::lock_guard lock(m);
  auto it = names.find(name);
  if (it == names.end()) it = names.emplace(name).first;
  return *it;
}

Expected<ScanReport> scan_case(store::Db& db, const SigmaSet& set, const Enrich& enrich, unsigned threads) {
  ScanReport report;
  std::vector<std::vector<std::string>> tested(set.rules.size());
  for (size_t i = 0; i < set.rules.size(); ++i) tested[i] = tested_fields(set.rules[i]);
  // Rules grouped by the events their logsource means: each group's events are read once.
  std::map<std::string, Group> by_key;
  for (size_t i = 0; i < set.rules.size(); ++i) {
    auto events = logsource_events(set.rules[i].logsource);
    if (!events) {
      report.rules_without_events.push_back(i);
      continue;
    }
    Group& g = by_key[events->key];
    g.events = *events;
    g.rules.push_back(i);
  }
  std::vector<Group> groups;
  for (auto& [key, g] : by_key) groups.push_back(std::move(g));
  if (groups.empty()) return report;
  auto lo = db.query_int("SELECT coalesce(min(event_pk), 0) FROM events");
  auto hi = db.query_int("SELECT coalesce(max(event_pk), 0) + 1 FROM events");
  if (!lo) return lo.error();
  if (!hi) return hi.error();
  const unsigned workers = threads ? threads : std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  // Several ranges per worker, taken in turn, so that one busy range does not leave the others idle.
  const int64_t pieces = workers == 1 ? 1 : static_cast<int64_t>(workers) * 8;
  const int64_t step = std::max<int64_t>(1, (*hi - *lo + pieces - 1) / pieces);
  std::vector<Unit> units;
  for (size_t g = 0; g < groups.size(); ++g)
    for (size_t s = 0; s < groups[g].events.sources.size(); ++s)
      for (int64_t from = *lo; from < *hi; from += step) units.push_back({g, s, from, std::min(*hi, from + step)});
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::vector<WorkerResult> results(workers);
  if (workers == 1) {
    scan_units(db, set, groups, units, next, failed, enrich, tested, results[0]);
  } else {
    // Each worker reads through its own connection; the enrichment only reads what it was given.
    std::vector<std::jthread> pool;
    for (unsigned k = 0; k < workers; ++k)
      pool.emplace_back([&, k] {
        try {
          auto conn = store::open_case_read_only(db.path());
          if (!conn) {
            results[k].error = conn.error();
            failed = true;
            return;
          }
          // The scan reads each page once, in order: a small page cache per reader is enough, and
          // keeps the readers' sum bounded.
          if (auto c = conn->exec("PRAGMA cache_size = -8192"); !c) {
            results[k].error = c.error();
            failed = true;
            return;
          }
          scan_units(*conn, set, groups, units, next, failed, enrich, tested, results[k]);
        } catch (const std::exception& e) {  // out of memory: this scan's error, not the process's end
          results[k].error = Error{ErrorCode::kInternal, fmt::format("Sigma scan: {}", e.what())};
          failed = true;
        }
      });
  }
  for (auto& r : results) {
    if (r.error) return *r.error;
    report.events_scanned += r.events_scanned;
    report.evaluations += r.evaluations;
  }
  // The first worker's hits are the result's; the others' join them.
  size_t total = 0;
  for (auto& r : results) total += r.hits.size();
  report.hits = std::move(results[0].hits);
  report.hits.reserve(total);
  for (size_t k = 1; k < results.size(); ++k) {
    std::move(results[k].hits.begin(), results[k].hits.end(), std::back_inserter(report.hits));
    results[k].hits = {};
  }
  // The same order however the work was shared: by rule, then event.
  std::sort(report.hits.begin(), report.hits.end(),
            [](const SigmaHit& a, const SigmaHit& b) { return std::tie(a.rule, a.event_pk) < std::tie(b.rule, b.event_pk); });
  return report;
}

}  // namespace treeline::detect::sigma
