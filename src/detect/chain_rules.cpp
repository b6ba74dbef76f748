// The chain rules over the process forest: a rule's steps matched from a process up its ancestry.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/text.hpp"
#include "core/vocabulary.hpp"
#include "detect/hunt_parts.hpp"

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

// The text of a finding of these rules (the most severe first), made once per set of rules.
using RuleTexts = std::map<std::vector<const Rule*>, std::shared_ptr<const RuleText>>;

std::shared_ptr<const RuleText> text_of(const std::vector<const Rule*>& rules, RuleTexts& made) {
  auto& text = made[rules];
  if (text) return text;
  const Rule& top = *rules.front();
  RuleText t{top.id, top.title, top.severity, top.action, "", ""};
  std::vector<std::string> attack;
  for (const Rule* r : rules) {
    for (const auto& a : r->attack)
      if (std::find(attack.begin(), attack.end(), a) == attack.end()) attack.push_back(a);
    if (t.log_id.empty()) t.log_id = r->log_id;
  }
  for (const auto& a : attack) t.attack += (t.attack.empty() ? "" : ",") + a;
  text = std::make_shared<const RuleText>(std::move(t));
  return text;
}

void finish_detection(Finding& d, const Proc& p, RuleTexts& made) {
  std::stable_sort(d.rules.begin(), d.rules.end(), [](const Rule* a, const Rule* b) {
    return severity_rank(a->severity) > severity_rank(b->severity);
  });
  d.rule = text_of(d.rules, made);
  d.host = p.host;
  d.time = p.start;
  d.process_key = p.key;
  d.user = p.user;
  d.ip = p.ip;
  d.logon_type = parse_windows_int(p.logon_type);
}

}  // namespace

std::vector<Finding> chain_findings(const std::vector<Rule>& rules, const Forest& f, HuntStats& stats) {
  std::vector<Finding> found;
  RuleTexts made;
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
    for (const auto& [action, k] : by_action) {
      finish_detection(found[k], f.procs[i], made);
      found[k].compact();
    }
  }
  return found;
}

}  // namespace treeline::detect
