#include "detect/sigma_value.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <cstring>

#include "detect/sigma_text.hpp"

namespace treeline::detect::sigma {
namespace {

bool ci_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != b[i]) return false;
  return true;
}

bool ci_contains(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > hay.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (ascii_lower(hay[i]) == needle[0] && ci_equal(hay.substr(i, needle.size()), needle)) return true;
  return false;
}

}  // namespace

bool ValueMatcher::matches(std::optional<std::string_view> value, const FieldSource& event) const {
  switch (kind) {
    case Kind::kNull: return !value || value->empty();
    case Kind::kExists: return value.has_value();
    case Kind::kNotExists: return !value.has_value();
    default: break;
  }
  if (!value) return false;
  std::string_view v = *value;
  switch (kind) {
    case Kind::kExact: return cased ? v == text : ci_equal(v, text);
    case Kind::kPrefix: return v.size() >= text.size() && (cased ? v.substr(0, text.size()) == text : ci_equal(v.substr(0, text.size()), text));
    case Kind::kSuffix:
      return v.size() >= text.size() &&
             (cased ? v.substr(v.size() - text.size()) == text : ci_equal(v.substr(v.size() - text.size()), text));
    case Kind::kContains: return cased ? v.find(text) != std::string_view::npos : ci_contains(v, text);
    case Kind::kRegex: return regex->search(v);
    case Kind::kLess: case Kind::kLessEqual: case Kind::kGreater: case Kind::kGreaterEqual: {
      auto n = parse_number(v);
      if (!n) return false;
      return kind == Kind::kLess ? *n < number : kind == Kind::kLessEqual ? *n <= number
             : kind == Kind::kGreater ? *n > number : *n >= number;
    }
    case Kind::kCidr: {
      std::array<uint8_t, 16> ip{};
      if (!parse_ip(trim(v), ip)) return false;
      int bits = prefix_bits;
      for (size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
        uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
        if ((ip[i] & mask) != (net[i] & mask)) return false;
      }
      return true;
    }
    case Kind::kFieldRef: {
      auto other = event.field(text);
      if (!other) return false;
      if (cased) return v == *other;
      return v.size() == other->size() &&
             std::equal(v.begin(), v.end(), other->begin(), [](char a, char b) { return ascii_lower(a) == ascii_lower(b); });
    }
    default: return false;
  }
}

bool FieldCondition::matches(const FieldSource& event) const {
  std::optional<std::string_view> v;
  if (!field.empty()) v = event.field(field);
  auto one = [&](const std::vector<ValueMatcher>& group) {
    return std::any_of(group.begin(), group.end(), [&](const ValueMatcher& m) {
      if (!field.empty()) return m.matches(v, event);
      return event.any_value([&](std::string_view value) { return m.matches(value, event); });
    });
  };
  return all ? std::all_of(values.begin(), values.end(), one) : std::any_of(values.begin(), values.end(), one);
}

}  // namespace treeline::detect::sigma
