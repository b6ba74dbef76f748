#pragma once
// `treeline hunt`: walks the process trees, matches the chain rules, resolves the processes that
// dump commands name, adds the coverage facts, and writes it all to the findings table, ordered
// by severity and then time (finding ids follow that order).
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "detect/rule.hpp"
#include "detect/sigma_rule.hpp"
#include "store/sqlite.hpp"

namespace treeline::detect {

struct HuntStats {
  int64_t processes = 0;
  int64_t detections = 0;  // findings: one per process and action
  int64_t coverage = 0;
  bool graph_rebuilt = false;  // the graph was out of date and was rebuilt first
  std::map<std::string, int64_t> by_rule;  // matches per rule
  struct Sigma {
    int64_t rules_run = 0;
    int64_t rules_without_events = 0;  // logsources treeline does not read
    int64_t events_scanned = 0;
    int64_t evaluations = 0;  // rules evaluated in full on an event, after the prefilters
    int64_t hits = 0;
    int64_t hits_without_process = 0;  // the event's process is not in the graph
    int64_t correlation_matches = 0;   // of every correlation, named by another or not
    int64_t ungrouped_hits = 0;        // hits a correlation could not count: a group-by field missing
  } sigma;
};

// Replaces the case's findings with this hunt's: the chain rules', and each Sigma rule's hit on
// an event, tied to the event's process, when `sigma_rules` is given.
Expected<HuntStats> hunt(store::Db& db, const std::vector<Rule>& rules, const sigma::SigmaSet* sigma_rules = nullptr);

// -enc payloads are UTF-16LE base64; returns the decoded command, or nothing.
std::optional<std::string> decode_powershell(const std::string& command_line);

}  // namespace treeline::detect
