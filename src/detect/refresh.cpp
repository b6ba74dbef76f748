#include "detect/refresh.hpp"

namespace treeline::detect {

Expected<GraphRebuild> rebuild_graph(store::Db& db) {
  GraphRebuild r;
  auto built = graph::build_graph(db, [&r](store::Db& d) -> Status {
    auto n = d.query_int("SELECT count(*) FROM findings");
    if (!n) return n.error();
    r.findings_cleared = *n;
    return d.exec("DELETE FROM finding_events; DELETE FROM findings");
  });
  if (!built) return built.error();
  r.graph = std::move(*built);
  return r;
}

}  // namespace treeline::detect
