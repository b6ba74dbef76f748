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
  // The count condition (event_count, value_count): op is gt, gte, lt, lte, eq or neq.
  std::string op;
  int64_t threshold = 0;
  std::string field;  // value_count: the field whose distinct values are counted
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

// Every *.yml / *.yaml under each path (a file, or a folder read recursively, in name order).
// A path that cannot be read is a skipped entry too.
SigmaSet load_sigma(const std::vector<std::string>& paths);

}  // namespace treeline::detect::sigma
