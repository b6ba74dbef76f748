#pragma once
// One Sigma field condition, compiled: a field name, its value modifiers applied, and the values it
// accepts. Matching follows the Sigma specification (appendix_modifier.md): case-insensitive
// unless |cased, whole-value with `*` and `?` wildcards (a backslash escapes them and itself), a
// list of values is any-of unless |all, null matches a field that is absent or empty.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.hpp"
#include "core/regex.hpp"

namespace treeline::detect::sigma {

// What a condition is evaluated against: the fields of one event, by their Sigma names.
class FieldSource {
 public:
  virtual ~FieldSource() = default;
  // The field's value, or nothing when the event does not have the field.
  virtual std::optional<std::string_view> field(std::string_view name) const = 0;
  // Calls `fn` with every value of the event until it returns true (keyword searches).
  virtual bool any_value(const std::function<bool(std::string_view)>& fn) const = 0;
};

// One accepted value.
struct ValueMatcher {
  enum class Kind {
    kExact, kPrefix, kSuffix, kContains,  // literal text, compared by the fast paths
    kRegex,                               // wildcards with '?' or inside, windash, |re
    kNull,                                // absent or empty
    kExists, kNotExists,
    kLess, kLessEqual, kGreater, kGreaterEqual,  // numbers
    kCidr,
    kFieldRef,  // equal to another field of the same event
  } kind = Kind::kExact;
  bool cased = false;
  std::string text;  // literal (lower-cased unless cased), the other field's name, or the CIDR as written
  std::optional<Regex> regex;
  double number = 0;
  // kCidr: network address and prefix, IPv4 mapped into the IPv6 space.
  std::array<uint8_t, 16> net{};
  int prefix_bits = 0;

  // `value` is the field's value (nothing: absent); `event` resolves field references.
  bool matches(std::optional<std::string_view> value, const FieldSource& event) const;
  // The same, with `lower` the value lower-cased (ASCII) by the caller, once for many matchers.
  bool matches(std::optional<std::string_view> value, std::string_view lower, const FieldSource& event) const;
};

// `Field|mod|mod: values` (field empty for a keyword list).
struct FieldCondition {
  std::string field;
  bool all = false;  // every value must match
  // One entry per value written; the variants an encoding makes of it (base64offset's three) are
  // any-of, even under |all.
  std::vector<std::vector<ValueMatcher>> values;

  bool matches(const FieldSource& event) const;
};

// A YAML scalar as Sigma reads it: text, or null.
struct RawValue {
  std::optional<std::string> text;  // nothing: null (~ or empty)
};

// Compiles `Field|modifiers` with its values. An unknown or unsupported modifier, or a value a
// modifier cannot take, is an error that says which.
Expected<FieldCondition> compile_condition(std::string_view key, const std::vector<RawValue>& values, bool keyword);

}  // namespace treeline::detect::sigma
