#pragma once
// `treeline tree`: process trees rendered like pstree, or as nested JSON / flat CSV.
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "core/table.hpp"
#include "report/format.hpp"
#include "store/sqlite.hpp"

namespace treeline::report {

struct TreeOptions {
  std::string host;                 // short name or computer name
  std::string process_key;          // this process's tree ...
  std::optional<int64_t> pid;       // ... or the process with this PID alive at `at`
  std::optional<int64_t> at;        // FILETIME
  std::optional<int64_t> logon_id;  // processes of this logon session
  std::optional<int64_t> from, to;  // FILETIME range of start times
  bool ancestors_only = false;      // with a process: only its ancestors
  bool descendants_only = false;    // with a process: only its descendants
  bool follow_logons = false;       // draw the logons a process opened on other hosts under it
  bool keys = false;                // end each line with the process key (for --process, graph, timeline)
  size_t width = 0;                 // cut lines to this many columns; 0 = never
};

// Writes the forest; returns the number of processes shown. A process the filters name but the
// case does not hold is an Error (kUsage) naming it.
Expected<size_t> write_tree(std::ostream& out, store::Db& db, const TreeOptions& options, Format format);

// The processes that held `pid` (on `host`, when given), oldest first: what --pid without --at
// shows, since PIDs are reused.
Expected<Table> pid_candidates(store::Db& db, const std::string& host, int64_t pid);

}  // namespace treeline::report
