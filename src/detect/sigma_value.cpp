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

// `value` lower-cased (ASCII, as the matchers' texts are) into `out`.
std::string_view lowered(std::string_view value, std::string& out) {
  out.resize(value.size());
  for (size_t i = 0; i < value.size(); ++i) out[i] = ascii_lower(value[i]);
  return out;
}

}  // namespace

bool ValueMatcher::matches(std::optional<std::string_view> value, const FieldSource& event) const {
  std::string scratch;
  return matches(value, value ? lowered(*value, scratch) : std::string_view(), event);
}

bool ValueMatcher::matches(std::optional<std::string_view> value, std::string_view lower, const FieldSource& event) const {
  switch (kind) {
    case Kind::kNull: return !value || value->empty();
    case Kind::kExists: return value.has_value();
    case Kind::kNotExists: return !value.has_value();
    default: break;
  }
  if (!value) return false;
  std::string_view v = *value;
  // The literal kinds compare with the value as it is, or lower-cased once by the caller.
  const std::string_view l = cased ? v : lower;
  switch (kind) {
    case Kind::kExact: return l == text;
    case Kind::kPrefix: return l.size() >= text.size() && l.compare(0, text.size(), text) == 0;
    case Kind::kSuffix: return l.size() >= text.size() && l.compare(l.size() - text.size(), text.size(), text) == 0;
    case Kind::kContains: return l.find(text) != std::string_view::npos;
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
  // One lower-cased copy per condition, however many values it lists.
  thread_local std::string scratch;
  std::optional<std::string_view> v;
  std::string_view lower;
  if (!field.empty()) {
    v = event.field(field);
    if (v) lower = lowered(*v, scratch);
  }
  auto one = [&](const std::vector<ValueMatcher>& group) {
    if (!field.empty())
      return std::any_of(group.begin(), group.end(), [&](const ValueMatcher& m) { return m.matches(v, lower, event); });
    return event.any_value([&](std::string_view value) {
      std::string mine;
      std::string_view l = lowered(value, mine);
      return std::any_of(group.begin(), group.end(), [&](const ValueMatcher& m) { return m.matches(value, l, event); });
    });
  };
  return all ? std::all_of(values.begin(), values.end(), one) : std::any_of(values.begin(), values.end(), one);
}

}  // namespace treeline::detect::sigma
