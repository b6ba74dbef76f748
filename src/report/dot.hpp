#pragma once
// `treeline graph`: the tree around a process or a finding, as Graphviz DOT (Boost.Graph's
// writer), with nodes coloured by the severity of their findings.
#include <string>

#include "store/sqlite.hpp"

namespace treeline::report {

struct GraphOptions {
  std::string process_key;
  int64_t finding_id = -1;
};

Expected<std::string> graph_dot(store::Db& db, const GraphOptions& options);

}  // namespace treeline::report
