#include "detect/hunt.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/text.hpp"
#include "core/vocabulary.hpp"
#include "detect/finding.hpp"
#include "detect/processes.hpp"
#include "detect/sigma_hunt.hpp"
#include "detect/refresh.hpp"
#include "graph/state.hpp"

namespace treeline::detect {
namespace {

using Json = nlohmann::ordered_json;

bool step_matches(const Step& s, const Proc& p, Json* matched) {
  for (const auto& c : s.all_of)
    if (!c.matches(p.field(c.field))) return false;
  for (const auto& c : s.none_of) {
    const std::string& v = p.field(c.field);
    if (v.empty() || c.matches(v)) return false;  // unknown, or excluded
  }
  if (matched)
    for (const auto& c : s.all_of) (*matched)[c.field] = p.field(c.field);
  return true;
}

// The chain of `rule` ending at process i, ancestor first, or nothing. Walks up the tree for the
// earlier steps, nearest match first; never recurses.
std::optional<std::vector<size_t>> match_chain(const Rule& rule, const Forest& f, size_t i, Json& matched) {
  if (!step_matches(rule.chain.back(), f.procs[i], &matched)) return std::nullopt;
  std::vector<size_t> chain = {i};
  size_t cur = i;
  for (size_t s = rule.chain.size() - 1; s-- > 0;) {
    bool descendant = rule.chain[s + 1].descendant, ok = false;
    for (auto up = f.links.parent(cur); up; up = f.links.parent(*up)) {
      if (step_matches(rule.chain[s], f.procs[*up], nullptr)) {
        chain.push_back(*up);
        cur = *up;
        ok = true;
        break;
      }
      if (!descendant) break;
    }
    if (!ok) return std::nullopt;
  }
  std::reverse(chain.begin(), chain.end());
  return chain;
}

// The target a dump command names; false when the rule requires one and none is confirmed.
bool check_target(const TargetSpec& t, const Forest& f, const Proc& p, Finding& out) {
  bool confirmed = false;
  if (auto m = t.name ? t.name->find(p.command_line) : std::nullopt) {
    confirmed = true;
    out.detail = fmt::format("target named in the command line: {}", cut_middle(m->whole, 120));
  }
  if (auto m = t.pid ? t.pid->find(p.command_line) : std::nullopt) {
    // A PID is a 32-bit number; anything longer names no process (and must not stop the hunt).
    auto pid = parse_windows_int(m->group1);
    if (!pid || *pid < 0 || *pid > 0xffffffffLL) {
      out.detail = fmt::format("target PID '{}' is not a PID", cut_middle(m->group1, 40));
    } else if (auto ti = f.resolve_pid(p, *pid)) {
      const Proc& tp = f.procs[*ti];
      bool is_target = !t.image || t.image->matches(tp.image);
      confirmed = confirmed || is_target;
      out.target_key = tp.key;
      out.detail = fmt::format("target PID {} was {} ({}) at the time{}", *pid, to_lower_ascii(base_name(tp.image)),
                               tp.key, is_target ? "" : ": not the expected target");
    } else {
      out.detail = fmt::format("target PID {}: no logged process held it at the time", *pid);
    }
  }
  return confirmed || !t.required;
}

std::optional<Finding> detect_one(const Rule& rule, const Forest& f, size_t i) {
  const Proc& p = f.procs[i];
  Finding out;
  auto chain = match_chain(rule, f, i, out.matched);
  if (!chain) return std::nullopt;
  if (rule.target && !check_target(*rule.target, f, p, out)) return std::nullopt;
  if (rule.decode == "powershell_base64")
    if (auto d = decode_powershell(p.command_line)) out.detail = "decoded: " + *d;
  if (p.renamed == "true" && out.matched.contains("renamed")) {
    out.matched["original_file_name"] = p.ofn;
    if (!p.product.empty()) out.matched["product"] = p.product;
    out.detail = fmt::format("image {} is the PE {}{}", base_name(p.image), p.ofn,
                             p.product.empty() ? "" : fmt::format(" (product: {})", p.product));
  }
  for (size_t c : *chain) out.chain.push_back(f.procs[c].key);
  out.rules = {&rule};
  return out;
}

// One process that matches several rules of the same action is one finding listing them all.
void merge_into(Finding& into, Finding&& more) {
  into.rules.push_back(more.rules.front());
  for (auto& [k, v] : more.matched.items()) into.matched[k] = v;
  if (!more.detail.empty() && into.detail.find(more.detail) == std::string::npos)
    into.detail += (into.detail.empty() ? "" : "; ") + more.detail;
  if (into.target_key.empty()) into.target_key = more.target_key;
  if (more.chain.size() > into.chain.size()) into.chain = std::move(more.chain);
}

void finish_detection(Finding& d, const Proc& p) {
  std::stable_sort(d.rules.begin(), d.rules.end(), [](const Rule* a, const Rule* b) {
    return severity_rank(a->severity) > severity_rank(b->severity);
  });
  const Rule& top = *d.rules.front();
  d.rule_id = top.id;
  d.title = top.title;
  d.severity = top.severity;
  d.action = top.action;
  std::vector<std::string> attack;
  for (const Rule* r : d.rules) {
    for (const auto& t : r->attack)
      if (std::find(attack.begin(), attack.end(), t) == attack.end()) attack.push_back(t);
    if (d.log_id.empty()) d.log_id = r->log_id;
  }
  for (const auto& t : attack) d.attack += (d.attack.empty() ? "" : ",") + t;
  d.host = p.host;
  d.time = p.start;
  d.process_key = p.key;
  d.user = p.user;
  d.ip = p.ip;
  d.logon_type = parse_windows_int(p.logon_type);
}

// Coverage: what the logs cannot show, per host.
constexpr const char* kCoverageSql = R"sql(
SELECT 'coverage_command_line_missing', 'Process creations without a command line', 'informational',
       'audit_coverage_gap', NULL, h.short_name, min(e.time),
       printf('%d of %d process creations (4688) have no CommandLine: command-line auditing is off',
              sum(coalesce(pc.command_line, '') = ''), count(*)), NULL
FROM sec_process_create pc JOIN events e USING (event_pk) JOIN hosts h USING (host_id)
GROUP BY h.short_name HAVING sum(coalesce(pc.command_line, '') = '') > 0
UNION ALL
SELECT 'coverage_parent_name_missing', 'Process creations without ParentProcessName', 'informational',
       'audit_coverage_gap', NULL, h.short_name, min(e.time),
       printf('%d of %d process creations are 4688 version 0/1, which name the parent only by PID',
              sum(e.version < 2), count(*)), NULL
FROM sec_process_create pc JOIN events e USING (event_pk) JOIN hosts h USING (host_id)
GROUP BY h.short_name HAVING sum(e.version < 2) > 0
UNION ALL
SELECT 'coverage_no_process_auditing', 'No process creation events on this host', 'informational',
       'audit_coverage_gap', NULL, h.short_name, min(e.time),
       printf('%d events from this host, none of them a 4688 or Sysmon 1: no process tree can be built', count(*)), NULL
FROM events e JOIN hosts h USING (host_id)
GROUP BY h.short_name
HAVING sum(e.event_pk IN (SELECT event_pk FROM sec_process_create)) = 0
   AND sum(e.event_pk IN (SELECT sp.event_pk FROM sysmon_process sp JOIN events e2 ON e2.event_pk = sp.event_pk
                          WHERE e2.event_id = 1)) = 0
UNION ALL
SELECT 'coverage_log_cleared', 'Security log cleared', 'medium', 'audit_log_cleared', 'T1070.001',
       h.short_name, e.time, printf('1102 by %s\%s (logon 0x%x): everything before it in this log is gone',
       lc.subject_domain_name, lc.subject_user_name, lc.subject_logon_id),
       lc.subject_domain_name || '\' || lc.subject_user_name
FROM sec_log_cleared lc JOIN events e USING (event_pk) JOIN hosts h USING (host_id)
)sql";

Status add_coverage(store::Db& db, std::vector<Finding>& out) {
  auto st = db.prepare(kCoverageSql);
  if (!st) return st.error();
  auto text = [&](int i) { return st->column_is_null(i) ? std::string() : st->column_text(i); };
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    Finding c;
    c.kind = "coverage";
    c.rule_id = text(0);
    c.title = text(1);
    c.severity = text(2);
    c.action = text(3);
    c.attack = text(4);
    c.host = text(5);
    if (!st->column_is_null(6)) c.time = st->column_int(6);
    c.detail = text(7);
    c.user = text(8);
    c.chain = nullptr;
    c.matched = nullptr;
    out.push_back(std::move(c));
  }
  if (rc != SQLITE_DONE) return db.error("reading the audit coverage");
  return ok_status();
}

// Severity first, then time: the order the analyst reads them in, and the order of their ids.
void sort_findings(std::vector<Finding>& all) {
  std::stable_sort(all.begin(), all.end(), [](const Finding& a, const Finding& b) {
    auto key = [](const Finding& f) {
      return std::make_tuple(-severity_rank(f.severity), !f.time.has_value(), f.time.value_or(0), f.host,
                             f.kind != "detection", f.rule_id, f.process_key);
    };
    return key(a) < key(b);
  });
}

Status write_findings(store::Db& db, const std::vector<Finding>& all) {
  auto tx = store::Transaction::begin(db, "writing the findings");
  if (!tx) return tx.error();
  if (auto s = db.exec("DELETE FROM finding_events; DELETE FROM findings"); !s) return s;
  auto ins = db.prepare(
      "INSERT INTO findings (finding_id, kind, rule_id, title, severity, action, attack, log_id, host, time, "
      "process_key, chain, matched, detail, target_key, user_name, logon_type, ip_address, rule_ids) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins) return ins.error();
  auto ins_event = db.prepare("INSERT OR IGNORE INTO finding_events (finding_id, event_pk) VALUES (?, ?)");
  if (!ins_event) return ins_event.error();
  auto put = [&](int i, const std::string& v) {
    if (v.empty()) ins->bind_null(i); else ins->bind(i, std::string_view(v));
  };
  auto put_int = [&](int i, const std::optional<int64_t>& v) {
    if (v) ins->bind(i, *v); else ins->bind_null(i);
  };
  int64_t id = 0;
  for (const Finding& f : all) {
    ins->reset();
    ins->bind(1, ++id);
    put(2, f.kind);
    put(3, f.rule_id);
    put(4, f.title);
    put(5, f.severity);
    put(6, f.action);
    put(7, f.attack);
    put(8, f.log_id);
    put(9, f.host);
    put_int(10, f.time);
    put(11, f.process_key);
    put(12, f.chain.is_null() ? "" : f.chain.dump());
    put(13, f.matched.is_null() ? "" : f.matched.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    put(14, f.detail);
    put(15, f.target_key);
    put(16, f.user);
    put_int(17, f.logon_type);
    put(18, f.ip);
    std::string ids;
    for (const Rule* r : f.rules) ids += (ids.empty() ? "" : ",") + r->id;
    // A Sigma hit and a coverage fact are one rule each; a chain detection lists its rules.
    put(19, f.rules.empty() ? f.rule_id : ids);
    if (ins->step() != SQLITE_DONE) return db.error("writing a finding");
    for (int64_t e : f.events) {
      ins_event->reset();
      ins_event->bind(1, id);
      ins_event->bind(2, e);
      if (ins_event->step() != SQLITE_DONE) return db.error("writing a finding's events");
    }
  }
  return tx->commit();
}

}  // namespace

Expected<HuntStats> hunt(store::Db& db, const std::vector<Rule>& rules, const sigma::SigmaSet* sigma_rules) {
  HuntStats stats;
  // Rules on a graph that misses events would miss what is in them: rebuild it first.
  auto state = graph::graph_state(db);
  if (!state) return state.error();
  if (!state->current) {
    auto rebuilt = rebuild_graph(db);
    if (!rebuilt) return rebuilt.error();
    stats.graph_rebuilt = true;
  }
  auto forest = load_forest(db);
  if (!forest) return forest.error();
  const Forest& f = *forest;
  stats.processes = static_cast<int64_t>(f.procs.size());

  std::vector<Finding> found;
  for (size_t i = 0; i < f.procs.size(); ++i) {
    if (f.procs[i].placeholder) continue;
    std::map<std::string, size_t> by_action;  // this process's finding per action
    for (const Rule& rule : rules) {
      auto d = detect_one(rule, f, i);
      if (!d) continue;
      ++stats.by_rule[rule.id];
      if (auto it = by_action.find(rule.action); it != by_action.end()) {
        merge_into(found[it->second], std::move(*d));
        continue;
      }
      by_action[rule.action] = found.size();
      found.push_back(std::move(*d));
    }
    for (const auto& [action, k] : by_action) finish_detection(found[k], f.procs[i]);
  }
  if (sigma_rules) {
    auto sigma_found = sigma_findings(db, f, *sigma_rules, stats.sigma);
    if (!sigma_found) return sigma_found.error();
    for (auto& d : *sigma_found) found.push_back(std::move(d));
  }
  stats.detections = static_cast<int64_t>(found.size());
  if (auto s = add_coverage(db, found); !s) return s.error();
  stats.coverage = static_cast<int64_t>(found.size()) - stats.detections;
  sort_findings(found);
  if (auto s = write_findings(db, found); !s) return s.error();
  return stats;
}

}  // namespace treeline::detect
