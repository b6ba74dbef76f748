// link_correlations: what each correlation names, resolved; the fields its rules' hits must keep.
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "detect/sigma_rule.hpp"

namespace treeline::detect::sigma {
namespace {

using Ref = SigmaCorrelation::Ref;

// `wanted` by name in the same file first (the specification's names are unique per
// correlation, and SigmaHQ writes a correlation and its rules as one multi-document file), then
// by id, then by name anywhere if only one rule has it.
std::optional<Ref> resolve(const SigmaSet& set, const SigmaCorrelation& c, const std::string& wanted, std::string& why) {
  std::vector<Ref> same_file, by_id, by_name;
  auto consider = [&](bool corr, size_t i, const std::string& id, const std::string& name, const std::string& file) {
    if (!name.empty() && name == wanted) (file == c.file ? same_file : by_name).push_back({corr, i});
    if (!id.empty() && id == wanted) by_id.push_back({corr, i});
  };
  for (size_t i = 0; i < set.rules.size(); ++i)
    consider(false, i, set.rules[i].id, set.rules[i].name, set.rules[i].file);
  for (size_t i = 0; i < set.correlations.size(); ++i)
    if (&set.correlations[i] != &c)
      consider(true, i, set.correlations[i].id, set.correlations[i].name, set.correlations[i].file);
  for (const auto* found : {&same_file, &by_id, &by_name}) {
    if (found->size() == 1) return found->front();
    if (found->size() > 1) {
      why = fmt::format("the correlation names '{}', which {} rules are called", wanted, found->size());
      return std::nullopt;
    }
  }
  why = fmt::format("the correlation names '{}', which no loaded rule is (by id or name)", wanted);
  return std::nullopt;
}

// Whether correlation `at` reaches itself again through the correlations it names.
bool in_cycle(const SigmaSet& set, size_t at) {
  std::vector<size_t> stack = {at};
  std::vector<bool> seen(set.correlations.size(), false);
  while (!stack.empty()) {
    size_t c = stack.back();
    stack.pop_back();
    for (const Ref& r : set.correlations[c].refs) {
      if (!r.correlation) continue;
      if (r.index == at) return true;
      if (!seen[r.index]) {
        seen[r.index] = true;
        stack.push_back(r.index);
      }
    }
  }
  return false;
}

// The first correlation that cannot run, with why; nothing when all can. Resolves every one.
std::optional<std::pair<size_t, std::string>> first_broken(SigmaSet& set) {
  for (size_t i = 0; i < set.correlations.size(); ++i) {
    SigmaCorrelation& c = set.correlations[i];
    c.refs.clear();
    for (const auto& name : c.rules) {
      std::string why;
      auto r = resolve(set, c, name, why);
      if (!r) return std::make_pair(i, why);
      if (std::find_if(c.refs.begin(), c.refs.end(), [&](const Ref& x) {
            return x.correlation == r->correlation && x.index == r->index;
          }) != c.refs.end())
        return std::make_pair(i, fmt::format("the correlation names '{}' twice", name));
      c.refs.push_back(*r);
    }
  }
  for (size_t i = 0; i < set.correlations.size(); ++i)
    if (in_cycle(set, i)) return std::make_pair(i, std::string("the correlation names itself, through the correlations it names"));
  return std::nullopt;
}

void add_once(std::vector<std::string>& to, const std::string& name) {
  if (std::find(to.begin(), to.end(), name) == to.end()) to.push_back(name);
}

}  // namespace

void link_correlations(SigmaSet& set) {
  // A correlation that cannot run is skipped with its reason; those that named it fail next round.
  while (auto broken = first_broken(set)) {
    const SigmaCorrelation& c = set.correlations[broken->first];
    set.skipped.push_back({c.file, c.line, broken->second});
    set.correlations.erase(set.correlations.begin() + static_cast<std::ptrdiff_t>(broken->first));
  }
  for (auto& r : set.rules) {
    r.captured.clear();
    r.standalone = true;
  }
  std::vector<bool> named_quietly(set.rules.size(), false), named_generating(set.rules.size(), false);
  std::vector<bool> corr_quietly(set.correlations.size(), false), corr_generating(set.correlations.size(), false);
  for (const auto& c : set.correlations)
    for (const Ref& ref : c.refs) {
      if (ref.correlation) {
        (c.generate ? corr_generating : corr_quietly)[ref.index] = true;
        continue;
      }
      SigmaRule& r = set.rules[ref.index];
      const std::string& ref_name = r.name.empty() ? r.id : r.name;
      for (const auto& g : c.group_by) add_once(r.captured, c.field_for(g, ref_name));
      if (!c.field.empty()) add_once(r.captured, c.field_for(c.field, ref_name));
      (c.generate ? named_generating : named_quietly)[ref.index] = true;
    }
  // The specification's default: the rules a correlation names are its parts, not alerts.
  for (size_t i = 0; i < set.rules.size(); ++i) set.rules[i].standalone = !named_quietly[i] || named_generating[i];
  for (size_t i = 0; i < set.correlations.size(); ++i)
    set.correlations[i].standalone = !corr_quietly[i] || corr_generating[i];
}

}  // namespace treeline::detect::sigma
