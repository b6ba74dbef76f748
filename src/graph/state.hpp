#pragma once
// Whether the process graph in a case was built from the events the case holds now. The graph
// builder records what it was built from (graph_state); after `ingest --no-graph`, or an ingest
// that was interrupted before its rebuild, the graph misses events and every answer drawn from
// it (trees, sessions, findings, timeline links) would silently leave them out.
#include <cstdint>

#include "store/sqlite.hpp"

namespace treeline::graph {

struct GraphState {
  bool current = false;
  int64_t events_now = 0;
  int64_t events_in_graph = 0;
};

Expected<GraphState> graph_state(store::Db& db);

// ok when the graph is current; otherwise an Error (kStale) that says how to rebuild it.
Status require_current_graph(store::Db& db);

// Inside the builder's transaction: the graph now matches the events.
Status record_graph_built(store::Db& db);

}  // namespace treeline::graph
