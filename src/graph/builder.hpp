#pragma once
// Builds the process graph and logon sessions from the event tables and writes them to the
// case (tables processes, process_edges, sessions, boots), replacing what was there.
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "graph/story_joins.hpp"
#include "store/sqlite.hpp"

namespace treeline::graph {

struct BuildStats {
  int64_t processes = 0;       // logged processes (4688 and/or Sysmon 1)
  int64_t merged = 0;          // processes seen by both 4688 and Sysmon 1
  int64_t placeholders = 0;    // parents known only from their children
  int64_t sessions = 0;
  std::map<std::string, int64_t> links_by_method;
  std::map<std::string, int64_t> orphans_by_reason;
  StoryStats story;  // the story joins (script blocks, services, tasks, session sources, ...)
};

// Times within which a 4688 and a Sysmon 1 of the same host, PID and image are one process.
inline constexpr int64_t kMergeWindow = 5 * 10'000'000LL;  // 5 s in FILETIME ticks

// Runs inside the rebuild's transaction before the old graph is deleted: the place for a later
// stage to clear its rows that point into it (the detect stage's findings).
using BeforeWrite = std::function<Status(store::Db&)>;

Expected<BuildStats> build_graph(store::Db& db, const BeforeWrite& before_write = {});

}  // namespace treeline::graph
