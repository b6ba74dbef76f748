#pragma once
// `treeline stats`: what is in the case and what the logs can and cannot show.
#include <string>
#include <utility>
#include <vector>

#include "core/table.hpp"
#include "store/sqlite.hpp"

namespace treeline::report {

struct StatsSection {
  std::string title;
  Table table;
};

// Sections in a fixed order: sources, hosts, audit coverage, events by host/channel/id.
Expected<std::vector<StatsSection>> collect_stats(store::Db& db);

}  // namespace treeline::report
