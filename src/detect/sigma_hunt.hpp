#pragma once
// Sigma hits as findings: each hit names the process its event belongs to (the process it
// created, its Sysmon ProcessGuid, or the PID it names on that host at that time) as a one-step
// chain, so `hunt` and `graph --finding` show its ancestry and logon like any chain finding's.
#include <vector>

#include "detect/finding.hpp"
#include "detect/hunt.hpp"
#include "detect/processes.hpp"
#include "detect/sigma_rule.hpp"

namespace treeline::detect {

Expected<std::vector<Finding>> sigma_findings(store::Db& db, const Forest& forest, const sigma::SigmaSet& rules,
                                              HuntStats::Sigma& stats);

}  // namespace treeline::detect
