#include "detect/hunt.hpp"

#include "detect/finding.hpp"
#include "detect/hunt_parts.hpp"
#include "detect/processes.hpp"
#include "detect/refresh.hpp"
#include "detect/sigma_hunt.hpp"
#include "graph/state.hpp"

namespace treeline::detect {

Expected<HuntStats> hunt(store::Db& db, const std::vector<Rule>& rules, const sigma::SigmaSet* sigma_rules) {
  HuntStats stats;
  // Rules on a graph that misses events would miss what is in them: rebuild it first.
  auto state = graph::graph_state(db);
  if (!state) return state.error();
  if (!state->current) {
    auto rebuilt = rebuild_graph(db);
    if (!rebuilt) return rebuilt.error();
    stats.graph_rebuilt = true;
  }
  // The hunt reads each table once, in order: a small page cache serves it, and the memory goes
  // to the forest and the findings instead.
  if (auto s = db.exec("PRAGMA cache_size = -16384"); !s) return s.error();
  auto forest = load_forest(db);
  if (!forest) return forest.error();
  // The pages read for the forest are not read again: their cache goes back before the scan
  // fills memory with hits.
  if (auto s = db.exec("PRAGMA shrink_memory"); !s) return s.error();
  const Forest& f = *forest;
  stats.processes = static_cast<int64_t>(f.procs.size());

  std::vector<Finding> found = chain_findings(rules, f, stats);
  if (sigma_rules) {
    auto sigma_found = sigma_findings(db, f, *sigma_rules, stats.sigma);
    if (!sigma_found) return sigma_found.error();
    found.reserve(found.size() + sigma_found->size());
    for (auto& d : *sigma_found) found.push_back(std::move(d));
    sigma_found->clear();
    sigma_found->shrink_to_fit();
  }
  stats.detections = static_cast<int64_t>(found.size());
  if (auto s = add_coverage(db, found); !s) return s.error();
  stats.coverage = static_cast<int64_t>(found.size()) - stats.detections;
  sort_findings(found);
  if (auto s = write_findings(db, found); !s) return s.error();
  return stats;
}

}  // namespace treeline::detect
