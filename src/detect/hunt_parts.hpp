#pragma once
// The parts `hunt` is made of (detect-internal): chain matching over the forest, the coverage
// facts, and the findings writer. Sigma's part is sigma_hunt.hpp.
#include <vector>

#include "core/expected.hpp"
#include "detect/finding.hpp"
#include "detect/hunt.hpp"
#include "detect/processes.hpp"
#include "store/sqlite.hpp"

namespace treeline::detect {

// One finding per process and action of the chain rules that match it (several rules of one
// action are one finding, listing them all); counts each rule's matches in `stats.by_rule`.
std::vector<Finding> chain_findings(const std::vector<Rule>& rules, const Forest& forest, HuntStats& stats);

// Appends the coverage facts (what the logs cannot show, per host): one embedded query each
// (src/detect/coverage/*.sql, run in name order).
Status add_coverage(store::Db& db, std::vector<Finding>& out);

// Severity first, then time: the order the analyst reads them in, and the order of their ids.
void sort_findings(std::vector<Finding>& all);

// Replaces the case's findings (and the events they rest on) with `all`, ids in order from 1.
Status write_findings(store::Db& db, const std::vector<Finding>& all);

}  // namespace treeline::detect
