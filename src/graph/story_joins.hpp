#pragma once
// The joins of the story (the other events an analyst follows from a process or a session)
// to the rebuilt graph: script blocks, PowerShell engine events, 4648s, service installs,
// scheduled tasks, and where sessions came from. Each has its own table and public view; all
// run inside the graph rebuild's transaction, after the processes and sessions are written.
#include "core/expected.hpp"
#include "graph/explicit_logons.hpp"
#include "graph/powershell_events.hpp"
#include "graph/script_blocks.hpp"
#include "graph/services.hpp"
#include "graph/session_links.hpp"
#include "graph/tasks.hpp"
#include "store/sqlite.hpp"

namespace treeline::graph {

struct StoryStats {
  ScriptBlockStats script_blocks;
  PowerShellEventStats powershell_events;
  ExplicitLogonStats explicit_logons;
  ServiceStats services;
  TaskStats tasks;
  SessionLinkStats sessions;
};

Expected<StoryStats> write_story_joins(store::Db& db);

}  // namespace treeline::graph
