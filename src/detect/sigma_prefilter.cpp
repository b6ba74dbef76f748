#include "detect/sigma_prefilter.hpp"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <map>

namespace treeline::detect::sigma {
namespace {

using Needles = std::optional<std::vector<Needle>>;  // nothing: no literal is necessary

bool literal_kind(ValueMatcher::Kind k) {
  using K = ValueMatcher::Kind;
  return k == K::kExact || k == K::kPrefix || k == K::kSuffix || k == K::kContains;
}

// How selective a set of needles is: its shortest needle, then fewer needles.
std::pair<size_t, int> score(const std::vector<Needle>& n) {
  size_t shortest = SIZE_MAX;
  for (const auto& x : n) shortest = std::min(shortest, x.text.size());
  return {shortest == SIZE_MAX ? 0 : shortest, -static_cast<int>(n.size())};
}

// A field condition's necessary needles: under |all any one value's (the first), else all values'.
Needles condition_needles(const FieldCondition& c) {
  if (c.field.empty() || c.values.empty()) return std::nullopt;
  std::vector<Needle> out;
  const size_t groups = c.all ? 1 : c.values.size();
  for (size_t g = 0; g < groups; ++g)
    for (const auto& m : c.values[g]) {
      if (!literal_kind(m.kind) || m.text.empty()) return std::nullopt;
      out.push_back({c.field, m.kind, m.cased, m.text});
    }
  return out;
}

Needles pick_best(const std::vector<Needles>& options) {
  Needles best;
  for (const auto& o : options)
    if (o && (!best || score(*o) > score(*best))) best = o;
  return best;
}

Needles unite(const std::vector<Needles>& parts) {
  std::vector<Needle> all;
  for (const auto& p : parts) {
    if (!p) return std::nullopt;
    all.insert(all.end(), p->begin(), p->end());
  }
  return all;
}

Needles search_needles(const Search& s) {
  std::vector<Needles> per_map;
  for (const auto& conj : s.any_of) {
    std::vector<Needles> options;
    for (const auto& c : conj) options.push_back(condition_needles(c));
    per_map.push_back(pick_best(options));  // any one condition of the map is necessary
  }
  return unite(per_map);
}

Needles node_needles(const ConditionNode& n, const SigmaRule& r) {
  using K = ConditionNode::Kind;
  std::vector<Needles> parts;
  switch (n.kind) {
    case K::kRef: return search_needles(r.searches[n.refs.front()]);
    case K::kNot: return std::nullopt;
    case K::kAnd: case K::kOr:
      for (const auto& c : n.children) parts.push_back(node_needles(c, r));
      return n.kind == K::kAnd ? pick_best(parts) : unite(parts);
    case K::kAll: case K::kAtLeast:
      for (size_t i : n.refs) parts.push_back(search_needles(r.searches[i]));
      return n.kind == K::kAll ? pick_best(parts) : unite(parts);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::vector<Needle>> necessary_needles(const SigmaRule& rule) {
  return node_needles(rule.condition, rule);
}

struct Prefilter::FieldSet {
  std::string field;
  std::unique_ptr<RE2::Set> set;
  std::vector<std::vector<size_t>> rules_of;  // per pattern: the rules it admits
  std::vector<size_t> fallback;               // every rule with a needle here: when the set fails
};

Prefilter::Prefilter(const std::vector<const SigmaRule*>& rules) : rule_count_(rules.size()) {
  std::map<std::string, size_t> field_index;
  std::vector<std::map<std::string, int>> pattern_ids;
  for (size_t i = 0; i < rules.size(); ++i) {
    auto needles = necessary_needles(*rules[i]);
    if (!needles) {
      always_.push_back(i);
      continue;
    }
    for (const auto& n : *needles) {
      auto [it, fresh] = field_index.try_emplace(n.field, fields_.size());
      if (fresh) {
        auto fs = std::make_unique<FieldSet>();
        fs->field = n.field;
        // Latin-1: bytes stay bytes, so a value that is not UTF-8 is still searched, and its case
        // folding is a superset of the matcher's ASCII folding (a candidate is never lost).
        RE2::Options o;
        o.set_encoding(RE2::Options::EncodingLatin1);
        o.set_max_mem(int64_t{16} << 20);
        o.set_log_errors(false);
        fs->set = std::make_unique<RE2::Set>(o, RE2::UNANCHORED);
        fields_.push_back(std::move(fs));
        pattern_ids.emplace_back();
      }
      FieldSet& fs = *fields_[it->second];
      using K = ValueMatcher::Kind;
      std::string pattern = (n.cased ? "" : "(?i)") + std::string(n.kind == K::kExact || n.kind == K::kPrefix ? "^" : "") +
                            RE2::QuoteMeta(n.text) + (n.kind == K::kExact || n.kind == K::kSuffix ? "$" : "");
      auto [pid, new_pattern] = pattern_ids[it->second].try_emplace(pattern, -1);
      if (new_pattern) {
        pid->second = fs.set->Add(pattern, nullptr);
        fs.rules_of.emplace_back();
      }
      if (pid->second < 0) {  // cannot happen for a quoted literal; stay correct if it does
        always_.push_back(i);
        continue;
      }
      auto& admits = fs.rules_of[static_cast<size_t>(pid->second)];
      if (admits.empty() || admits.back() != i) admits.push_back(i);
      if (fs.fallback.empty() || fs.fallback.back() != i) fs.fallback.push_back(i);
    }
  }
  for (auto& fs : fields_)
    if (!fs->set->Compile()) fs->set.reset();  // its rules are then always candidates
  seen_.assign(rules.size(), 0);
}

Prefilter::~Prefilter() = default;
Prefilter::Prefilter(Prefilter&&) noexcept = default;
Prefilter& Prefilter::operator=(Prefilter&&) noexcept = default;

void Prefilter::candidates(const FieldSource& event, std::vector<size_t>& out) const {
  out.clear();
  if (++event_ == 0) {  // the stamp wrapped: forget every old stamp
    std::fill(seen_.begin(), seen_.end(), 0);
    event_ = 1;
  }
  auto add = [&](size_t r) {
    if (seen_[r] != event_) {
      seen_[r] = event_;
      out.push_back(r);
    }
  };
  for (size_t r : always_) add(r);
  for (const auto& fs : fields_) {
    auto v = event.field(fs->field);
    if (!v) continue;  // a literal needs a value: none of these rules can hold on this field
    if (!fs->set) {
      for (size_t r : fs->fallback) add(r);
      continue;
    }
    matched_.clear();
    RE2::Set::ErrorInfo err{};
    if (!fs->set->Match(re2::StringPiece(v->data(), v->size()), &matched_, &err) && err.kind != RE2::Set::kNoError) {
      for (size_t r : fs->fallback) add(r);  // the DFA gave up: evaluate every rule of the field
      continue;
    }
    for (int p : matched_)
      for (size_t r : fs->rules_of[static_cast<size_t>(p)]) add(r);
  }
}

}  // namespace treeline::detect::sigma
