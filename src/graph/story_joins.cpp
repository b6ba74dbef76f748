#include "graph/story_joins.hpp"

#include "graph/join_indexes.hpp"

namespace treeline::graph {
namespace {

// Runs one join, keeping its stats or handing on its error.
template <typename Stats, typename Join>
Status run_join(Stats& into, Join&& join) {
  auto r = join();
  if (!r) return r.error();
  into = *r;
  return Ok{};
}

}  // namespace

Expected<StoryStats> write_story_joins(store::Db& db) {
  StoryStats stats;
  JoinIndexes ix(db);
  // In this order: session links read the explicit-logon links.
  if (auto s = run_join(stats.script_blocks, [&] { return write_script_blocks(db, ix); }); !s) return s.error();
  if (auto s = run_join(stats.powershell_events, [&] { return write_powershell_events(db, ix); }); !s) return s.error();
  if (auto s = run_join(stats.explicit_logons, [&] { return write_explicit_logons(db, ix); }); !s) return s.error();
  if (auto s = run_join(stats.services, [&] { return write_services(db, ix); }); !s) return s.error();
  if (auto s = run_join(stats.tasks, [&] { return write_scheduled_tasks(db, ix); }); !s) return s.error();
  if (auto s = run_join(stats.sessions, [&] { return write_session_links(db, ix); }); !s) return s.error();
  return stats;
}

}  // namespace treeline::graph
