#pragma once
// Sigma rules and correlation rules read from YAML (SigmaHQ's layout: one rule per document), with
// their detections compiled. A rule that does not parse, or uses what treeline does not support,
// is kept as a skipped entry with its file, line and reason: never dropped without a word.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "detect/sigma_condition.hpp"
#include "detect/sigma_value.hpp"

namespace treeline::detect::sigma {

// A search identifier's content: any of its maps, each map all of its field conditions.
struct Search {
  std::vector<std::vector<FieldCondition>> any_of;
  bool matches(const FieldSource& event) const;
};

struct Logsource {
  std::string product, service, category;
};

struct SigmaRule {
  std::string file;
  int line = 0;
  std::string id, name, title, level, status;
  std::vector<std::string> tags;
  Logsource logsource;
  std::vector<std::string> search_names;  // parallel to searches
  std::vector<Search> searches;
  ConditionNode condition;  // several condition strings are any-of
  // The EventIDs an event must have for the condition to hold (nothing: any), from the searches
  // that test EventID by value: the scan evaluates a rule only on events it could match.
  std::optional<std::vector<int64_t>> event_ids;
  // Set by link_correlations: fields the correlations that count this rule's events group or
  // count by, kept with each hit; and whether its hits are findings of their own (a rule only a
  // correlation without `generate: true` names is not).
  std::vector<std::string> captured;
  bool standalone = true;

  bool matches(const FieldSource& event) const;
};

struct SigmaCorrelation {
  std::string file;
  int line = 0;
  std::string id, name, title, level;
  std::vector<std::string> tags;
  enum class Type { kEventCount, kValueCount, kTemporal, kTemporalOrdered } type = Type::kEventCount;
  std::vector<std::string> rules;  // the ids or names of the rules it correlates
  std::vector<std::string> group_by;
  int64_t timespan_seconds = 0;
  // The condition: every bound must hold (`gt: 100` and `lte: 200` is a range). For event_count and
  // value_count it bounds the count; for temporal, the number of distinct rules seen (none given:
  // all of them).
  struct Bound {
    std::string op;  // gt, gte, lt, lte, eq, neq
    int64_t value = 0;
    bool holds(int64_t n) const;
  };
  std::vector<Bound> bounds;
  std::string field;  // value_count: the field whose distinct values are counted
  // aliases: alias -> (rule name -> that rule's field), usable in group-by.
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> aliases;
  bool generate = false;  // the rules it names are also findings of their own

  // What `rules` name, resolved by link_correlations: a rule or another correlation.
  struct Ref {
    bool correlation = false;
    size_t index = 0;
  };
  std::vector<Ref> refs;
  bool standalone = true;  // false when only named by correlations without `generate: true`
  bool holds(int64_t n) const;
  // The field an event of rule or correlation `ref_name` holds for `name` (an alias, or itself).
  const std::string& field_for(const std::string& wanted, const std::string& ref_name) const;
};

struct SkippedRule {
  std::string file;
  int line = 0;
  std::string reason;
};

struct SigmaSet {
  std::vector<SigmaRule> rules;
  std::vector<SigmaCorrelation> correlations;
  std::vector<SkippedRule> skipped;
  size_t files = 0;
};

// Reads one file's documents into `into`. `file` names it in the entries.
void parse_sigma_text(const std::string& text, const std::string& file, SigmaSet& into);

// Resolves each correlation's rules by id or name (a name in the same file first), fills each
// rule's `captured` fields and `standalone`. A correlation that names what is not loaded, or that
// is part of a cycle, is moved to `skipped` with the reason. load_sigma calls it; a set built by
// parse_sigma_text alone needs it before its correlations run.
void link_correlations(SigmaSet& set);

// Every *.yml / *.yaml under each path (a file, or a folder read recursively, in name order),
// after the built-in Sigma rules (rules/sigma, embedded) when `with_builtin`; correlations linked.
// A path that cannot be read is a skipped entry too.
SigmaSet load_sigma(const std::vector<std::string>& paths, bool with_builtin = false);

}  // namespace treeline::detect::sigma
