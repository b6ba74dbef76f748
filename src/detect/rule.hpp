#pragma once
// Chain rules as data (rules/*.yml): a chain of steps from ancestor to descendant, each matching
// process fields Sigma-style (|contains |startswith |endswith |all |re, case-insensitive unless
// |cased). Loading reports the file, line and problem of a bad rule.
#include <optional>
#include <string>
#include <vector>

#include "core/expected.hpp"
#include "core/regex.hpp"

namespace treeline::detect {

// The fields a step can test. Booleans are "true"/"false"; an unknown value is empty, and an
// empty value never matches (nor makes a `not:` block succeed).
inline constexpr const char* kFields[] = {"image", "command_line", "user", "integrity", "elevation", "logon_type",
                                          "source_ip", "original_file_name", "session_admin", "renamed", "host"};

struct Condition {
  std::string field;
  enum class Op { kEquals, kContains, kStartsWith, kEndsWith, kRegex } op = Op::kEquals;
  bool all = false;    // every value must match (default: any)
  bool cased = false;  // compare case-sensitively
  std::vector<std::string> values;
  std::vector<Regex> regexes;

  bool matches(const std::string& value) const;
};

struct Step {
  bool descendant = false;  // related to the previous step at any depth (default: direct child)
  std::vector<Condition> all_of;
  std::vector<Condition> none_of;  // `not:` — the step fails when any of these matches
};

struct TargetSpec {
  std::optional<Regex> pid;    // one capture group: the PID the command line names
  std::optional<Regex> name;  // the command line names the target by name
  std::optional<Condition> image;  // what the process with that PID must have been
  bool required = false;           // no confirmed target, no finding
};

struct Rule {
  std::string id, title, severity, action, log_id, file;
  std::vector<std::string> attack;
  std::vector<Step> chain;
  std::optional<TargetSpec> target;
  std::string decode;  // "powershell_base64"
};

// Parses one rule file's text; `file` names it in errors ("rules/x.yml:12: ...").
Expected<Rule> parse_rule(const std::string& text, const std::string& file);

// The embedded rules, plus every *.yml/*.yaml in `extra_dir` when given.
Expected<std::vector<Rule>> load_rules(const std::string& extra_dir);

}  // namespace treeline::detect
