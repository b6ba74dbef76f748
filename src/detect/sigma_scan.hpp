#pragma once
// Runs Sigma rules over a case's events: each logsource's events are read once, for every rule
// on that logsource. A 4688 answers to the Sysmon field names of process_creation (Image,
// ParentImage, ProcessId, User, IntegrityLevel, ...), as the pipeline's Security mapping does.
#include <cstdint>
#include <string>
#include <vector>

#include "core/expected.hpp"
#include "detect/sigma_rule.hpp"
#include "store/sqlite.hpp"

namespace treeline::detect::sigma {

struct SigmaHit {
  size_t rule = 0;  // index into SigmaSet::rules
  int64_t event_pk = 0;
};

struct ScanReport {
  std::vector<SigmaHit> hits;  // by rule, then event
  int64_t events_scanned = 0;  // events read, once per logsource
  std::vector<size_t> rules_without_events;  // logsources treeline does not read (not run)
};

Expected<ScanReport> scan_case(store::Db& db, const SigmaSet& set);

}  // namespace treeline::detect::sigma
