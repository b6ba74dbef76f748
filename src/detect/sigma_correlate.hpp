#pragma once
// Sigma correlation rules run over the hits of the rules they name (the Sigma correlation
// specification, 2.0): event_count, value_count, temporal and temporal_ordered, each per group-by
// value with field aliases, over a sliding timespan; a correlation may name another correlation.
// Pure: works on hits, not on the case, so it is tested without SQLite.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "detect/sigma_rule.hpp"
#include "detect/sigma_scan.hpp"

namespace treeline::detect::sigma {

struct CorrelationMatch {
  size_t correlation = 0;  // index into SigmaSet::correlations
  int64_t first = 0, last = 0;  // FILETIME of the first and last event counted
  std::vector<std::pair<std::string, std::string>> group;  // each group-by name with its value
  int64_t count = 0;  // what the condition was checked on: events, distinct values or rules
  std::vector<std::string> values;  // value_count: the distinct values, in the order first seen
  std::vector<size_t> hits;  // the events counted: indices into the scan's hits, in time order
};

struct CorrelateStats {
  int64_t ungrouped = 0;  // hits without a group-by (or value_count) field: not counted
};

// Windows are taken as an analyst reads them: from each event, the longest run within the
// timespan; a window that meets the condition is one match, and the next starts after it.
std::vector<CorrelationMatch> correlate(const SigmaSet& set, const Hits& hits, CorrelateStats& stats);

}  // namespace treeline::detect::sigma
