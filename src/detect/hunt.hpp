#pragma once
// `treeline hunt`: walks the process trees, matches the chain rules, resolves the processes that
// dump commands name, adds the coverage facts, and writes it all to the findings table, ordered
// by severity and then time (finding ids follow that order).
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "detect/rule.hpp"
#include "store/sqlite.hpp"

namespace treeline::detect {

struct HuntStats {
  int64_t processes = 0;
  int64_t detections = 0;  // findings: one per process and action
  int64_t coverage = 0;
  bool graph_rebuilt = false;  // the graph was out of date and was rebuilt first
  std::map<std::string, int64_t> by_rule;  // matches per rule
};

// Replaces the case's findings with this hunt's.
Expected<HuntStats> hunt(store::Db& db, const std::vector<Rule>& rules);

// -enc payloads are UTF-16LE base64; returns the decoded command, or nothing.
std::optional<std::string> decode_powershell(const std::string& command_line);

}  // namespace treeline::detect
