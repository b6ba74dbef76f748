#pragma once
// Which of a logsource's rules an event could match, found with one multi-pattern pass per field.
// Each rule yields the literal values (field, text, anchoring) one of which must hold for its
// condition to be true; every rule's literals for a field go into one RE2::Set, and an event is
// evaluated in full only against the rules whose literals it holds. The choice is conservative:
// a rule without such literals (a regex, a negation, a keyword) is always evaluated.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "detect/sigma_rule.hpp"

namespace re2 {
class RE2;
}

namespace treeline::detect::sigma {

struct Needle {
  std::string field;
  ValueMatcher::Kind kind = ValueMatcher::Kind::kContains;  // kExact, kPrefix, kSuffix or kContains
  bool cased = false;
  std::string text;  // lower-cased unless cased
};

// The needles one of which the rule needs; nothing when it has none to offer.
std::optional<std::vector<Needle>> necessary_needles(const SigmaRule& rule);

class Prefilter {
 public:
  explicit Prefilter(const std::vector<const SigmaRule*>& rules);
  ~Prefilter();
  Prefilter(Prefilter&&) noexcept;
  Prefilter& operator=(Prefilter&&) noexcept;

  // The positions (into the constructor's list) of the rules this event could match, each once.
  void candidates(const FieldSource& event, std::vector<size_t>& out) const;

 private:
  struct FieldSet;
  std::vector<std::unique_ptr<FieldSet>> fields_;
  std::vector<size_t> always_;
  size_t rule_count_ = 0;
  mutable std::vector<uint32_t> seen_;  // per rule: the event it was last added for
  mutable uint32_t event_ = 0;
  mutable std::vector<int> matched_;
};

}  // namespace treeline::detect::sigma
