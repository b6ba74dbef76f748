#pragma once
// Regular expressions for rules and parsers: RE2, whose matching time is linear in the input and
// which never recurses on it. std::regex recurses once per character and overflows the stack on
// a 32,000-character command line, which attackers pad on purpose.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/expected.hpp"

namespace re2 {
class RE2;
}

namespace treeline {

class Regex {
 public:
  struct Options {
    bool case_insensitive = false;
    bool multi_line = false;  // ^ and $ match at line breaks
    bool dot_all = false;     // . matches \n
  };
  // An error names the pattern and RE2's reason (RE2 has no backreferences or lookaround).
  static Expected<Regex> compile(std::string_view pattern, Options options);
  static Expected<Regex> compile(std::string_view pattern) { return compile(pattern, Options{}); }

  // True when the pattern matches anywhere in `text`.
  bool search(std::string_view text) const;
  // The whole match and the first capture group (empty when the pattern has none), or nothing.
  struct Match {
    std::string_view whole, group1;
  };
  std::optional<Match> find(std::string_view text) const;

  const std::string& pattern() const { return pattern_; }
  // `text` as a pattern that matches it literally.
  static std::string quote(std::string_view text);

 private:
  std::shared_ptr<const re2::RE2> re_;  // immutable after compile: shared by copies and threads
  std::string pattern_;
};

}  // namespace treeline
