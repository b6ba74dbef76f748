#pragma once
// A Sigma detection's condition: `and`, `or`, `not`, parentheses, and `1 of` / `any of` / `all of` /
// `N of` a name pattern or `them` (which leaves out names that start with `_`). `not` binds
// tighter than `and`, which binds tighter than `or`.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.hpp"

namespace treeline::detect::sigma {

struct ConditionNode {
  enum class Kind { kAnd, kOr, kNot, kRef, kAtLeast, kAll } kind = Kind::kRef;
  std::vector<ConditionNode> children;  // kAnd, kOr, kNot
  std::vector<size_t> refs;             // kRef (one), kAtLeast and kAll: indexes into the names
  size_t at_least = 1;                  // kAtLeast
};

// Parses `text` against the detection's search names. Unknown names, patterns that name nothing
// and the pre-2.0 aggregations (`| count() by …`) are errors that say so.
Expected<ConditionNode> parse_condition(std::string_view text, const std::vector<std::string>& names);

// Evaluates the condition; `search(i)` says whether search i matches (called lazily, at most once
// per name and evaluation if the caller caches).
bool evaluate(const ConditionNode& node, const std::function<bool(size_t)>& search);

}  // namespace treeline::detect::sigma
