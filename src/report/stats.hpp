#pragma once
// `treeline stats`: what is in the case and what the logs can and cannot show.
#include <string>
#include <utility>
#include <vector>

#include "core/table.hpp"
#include "store/sqlite.hpp"

namespace treeline::report {

struct StatsSection {
  std::string name;  // sources, hosts, coverage, events
  std::string title;
  Table table;
};

// Sections in a fixed order: sources, hosts, audit coverage, events by host/channel/id.
// `only`: these sections (by name), in the fixed order; empty: all. An unknown name is kUsage.
Expected<std::vector<StatsSection>> collect_stats(store::Db& db, const std::vector<std::string>& only = {});
// The section names, comma separated.
std::string section_names();

}  // namespace treeline::report
