#pragma once
// Rebuilding the process graph from the detect stage's side: findings name processes of the
// graph being replaced, so they go in the same transaction, and the analyst is told to hunt again.
#include <cstdint>

#include "graph/builder.hpp"
#include "store/sqlite.hpp"

namespace treeline::detect {

struct GraphRebuild {
  graph::BuildStats graph;
  int64_t findings_cleared = 0;  // findings of the last hunt, which pointed into the old graph
};

Expected<GraphRebuild> rebuild_graph(store::Db& db);

}  // namespace treeline::detect
