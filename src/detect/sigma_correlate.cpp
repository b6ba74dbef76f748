#include "detect/sigma_correlate.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace treeline::detect::sigma {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;
using Type = SigmaCorrelation::Type;

constexpr int64_t kFiletimePerSecond = 10'000'000;

// One thing a correlation counts: a hit of a rule it names, or a match of a correlation it names.
struct Occurrence {
  int64_t time = 0;
  size_t ref = 0;  // index into the correlation's refs
  const Fields* fields = nullptr;  // a hit's captured fields, or a match's group
  const std::vector<size_t>* hits = nullptr;  // a correlation match's events; else `hit`
  size_t hit = 0;
  std::string value;  // value_count: the counted field's value

  std::optional<std::string_view> field(const std::string& name) const {
    for (const auto& [k, v] : *fields)
      if (k == name) return std::string_view(v);
    return std::nullopt;
  }
  size_t first_hit() const { return hits ? (hits->empty() ? 0 : hits->front()) : hit; }
};

std::string ref_name(const SigmaSet& set, const SigmaCorrelation::Ref& r) {
  if (r.correlation) {
    const auto& c = set.correlations[r.index];
    return c.name.empty() ? c.id : c.name;
  }
  const auto& rule = set.rules[r.index];
  return rule.name.empty() ? rule.id : rule.name;
}

// Correlations in an order where each comes after those it names (link_correlations removed cycles).
std::vector<size_t> evaluation_order(const SigmaSet& set) {
  std::vector<size_t> order;
  std::vector<int> state(set.correlations.size(), 0);  // 0 new, 1 on the stack, 2 done
  for (size_t start = 0; start < set.correlations.size(); ++start) {
    if (state[start]) continue;
    std::vector<std::pair<size_t, size_t>> stack = {{start, 0}};
    state[start] = 1;
    while (!stack.empty()) {
      auto& [c, next] = stack.back();
      const auto& refs = set.correlations[c].refs;
      if (next < refs.size()) {
        const auto& r = refs[next++];
        if (r.correlation && state[r.index] == 0) {
          state[r.index] = 1;
          stack.push_back({r.index, 0});
        }
        continue;
      }
      state[c] = 2;
      order.push_back(c);
      stack.pop_back();
    }
  }
  return order;
}

class Grouper {
 public:
  Grouper(const SigmaSet& set, const SigmaCorrelation& c) : set_(set), c_(c) {}

  // Files the occurrence under its group, or counts it as ungrouped when a field is missing.
  void add(Occurrence o, CorrelateStats& stats) {
    const std::string name = ref_name(set_, c_.refs[o.ref]);
    std::string key;
    Fields group;
    for (const auto& g : c_.group_by) {
      auto v = o.field(c_.field_for(g, name));
      if (!v) {
        ++stats.ungrouped;
        return;
      }
      key.append(*v).push_back('\x1f');
      group.emplace_back(g, std::string(*v));
    }
    if (c_.type == Type::kValueCount) {
      // An empty value is no value: it names no account, no address.
      auto v = o.field(c_.field_for(c_.field, name));
      if (!v || v->empty()) {
        ++stats.ungrouped;
        return;
      }
      o.value = std::string(*v);
    }
    auto [it, fresh] = groups_.try_emplace(std::move(key));
    if (fresh) it->second.first = std::move(group);
    it->second.second.push_back(std::move(o));
  }

  std::map<std::string, std::pair<Fields, std::vector<Occurrence>>>& groups() { return groups_; }

 private:
  const SigmaSet& set_;
  const SigmaCorrelation& c_;
  std::map<std::string, std::pair<Fields, std::vector<Occurrence>>> groups_;
};

CorrelationMatch make_match(size_t ci, const Fields& group, const std::vector<const Occurrence*>& used, int64_t count) {
  CorrelationMatch m;
  m.correlation = ci;
  m.group = group;
  m.count = count;
  m.first = used.front()->time;
  m.last = used.back()->time;
  for (const Occurrence* o : used) {
    if (o->hits) m.hits.insert(m.hits.end(), o->hits->begin(), o->hits->end());
    else m.hits.push_back(o->hit);
    if (!o->value.empty() && std::find(m.values.begin(), m.values.end(), o->value) == m.values.end())
      m.values.push_back(o->value);
  }
  return m;
}

// event_count, value_count and temporal: from each occurrence, the longest run within the
// timespan; a run that meets the condition is a match, and the next run starts after it.
void windows(size_t ci, const SigmaCorrelation& c, const Fields& group, const std::vector<Occurrence>& occ,
             std::vector<CorrelationMatch>& out) {
  const int64_t span = c.timespan_seconds * kFiletimePerSecond;
  std::unordered_map<std::string_view, int> values;
  std::vector<int> per_ref(c.refs.size(), 0);
  size_t distinct_refs = 0;
  auto metric = [&](size_t i, size_t j) -> int64_t {
    switch (c.type) {
      case Type::kEventCount: return static_cast<int64_t>(j - i);
      case Type::kValueCount: return static_cast<int64_t>(values.size());
      default: return static_cast<int64_t>(distinct_refs);
    }
  };
  const bool count_values = c.type == Type::kValueCount;
  auto add = [&](const Occurrence& o) {
    if (count_values) ++values[o.value];
    if (per_ref[o.ref]++ == 0) ++distinct_refs;
  };
  auto remove = [&](const Occurrence& o) {
    if (count_values)
      if (auto it = values.find(o.value); it != values.end() && --it->second == 0) values.erase(it);
    if (--per_ref[o.ref] == 0) --distinct_refs;
  };
  const bool temporal = c.type == Type::kTemporal;
  size_t j = 0;
  for (size_t i = 0; i < occ.size();) {
    while (j < occ.size() && occ[j].time - occ[i].time <= span) add(occ[j++]);
    const int64_t n = metric(i, j);
    const bool met = temporal && c.bounds.empty() ? distinct_refs == c.refs.size() : c.holds(n);
    if (met) {
      std::vector<const Occurrence*> used;
      for (size_t k = i; k < j; ++k) used.push_back(&occ[k]);
      out.push_back(make_match(ci, group, used, n));
      values.clear();
      std::fill(per_ref.begin(), per_ref.end(), 0);
      distinct_refs = 0;
      i = j;
      continue;
    }
    remove(occ[i]);
    ++i;
  }
}

// temporal_ordered: the rules' events in the order the correlation names them, the first and last
// within the timespan; each event is used once.
void ordered(size_t ci, const SigmaCorrelation& c, const Fields& group, const std::vector<Occurrence>& occ,
             std::vector<CorrelationMatch>& out) {
  const int64_t span = c.timespan_seconds * kFiletimePerSecond;
  for (size_t i = 0; i < occ.size();) {
    if (occ[i].ref != 0) {
      ++i;
      continue;
    }
    std::vector<const Occurrence*> used = {&occ[i]};
    size_t last = i;
    for (size_t k = i + 1; k < occ.size() && used.size() < c.refs.size() && occ[k].time - occ[i].time <= span; ++k)
      if (occ[k].ref == used.size()) {
        used.push_back(&occ[k]);
        last = k;
      }
    if (used.size() == c.refs.size()) {
      out.push_back(make_match(ci, group, used, static_cast<int64_t>(used.size())));
      i = last + 1;
    } else {
      ++i;
    }
  }
}

}  // namespace

std::vector<CorrelationMatch> correlate(const SigmaSet& set, const Hits& hits, CorrelateStats& stats) {
  std::vector<std::vector<size_t>> hits_of(set.rules.size());
  for (size_t h = 0; h < hits.size(); ++h) hits_of[hits[h].rule].push_back(h);
  std::vector<std::vector<CorrelationMatch>> matches(set.correlations.size());
  for (size_t ci : evaluation_order(set)) {
    const SigmaCorrelation& c = set.correlations[ci];
    Grouper grouper(set, c);
    for (size_t k = 0; k < c.refs.size(); ++k) {
      const auto& r = c.refs[k];
      if (r.correlation) {
        for (const CorrelationMatch& m : matches[r.index])
          grouper.add(Occurrence{m.last, k, &m.group, &m.hits, 0, {}}, stats);
      } else {
        for (size_t h : hits_of[r.index])
          grouper.add(Occurrence{hits[h].time, k, &hits[h].captured, nullptr, h, {}}, stats);
      }
    }
    for (auto& [key, group] : grouper.groups()) {
      auto& occ = group.second;
      std::stable_sort(occ.begin(), occ.end(), [&](const Occurrence& a, const Occurrence& b) {
        return std::make_pair(a.time, hits[a.first_hit()].event_pk) < std::make_pair(b.time, hits[b.first_hit()].event_pk);
      });
      if (c.type == Type::kTemporalOrdered) ordered(ci, c, group.first, occ, matches[ci]);
      else windows(ci, c, group.first, occ, matches[ci]);
    }
  }
  std::vector<CorrelationMatch> out;
  for (auto& ms : matches)
    for (auto& m : ms) out.push_back(std::move(m));
  return out;
}

}  // namespace treeline::detect::sigma
