#pragma once
// PowerShell script blocks (4104): the parts of each ScriptBlockId in MessageNumber order, with
// the parts the log lacks named, tied to the process that ran them through the record's
// Execution ProcessID (the PowerShell host that logged it), on that host, alive at that time.
#include <cstdint>

#include "core/expected.hpp"
#include "graph/join_indexes.hpp"
#include "store/sqlite.hpp"

namespace treeline::graph {

struct ScriptBlockStats {
  int64_t blocks = 0, linked = 0, incomplete = 0;
};

// Replaces ps_script_blocks from the case's 4104s and its processes table (written already, in
// the same transaction).
Expected<ScriptBlockStats> write_script_blocks(store::Db& db, JoinIndexes& indexes);

}  // namespace treeline::graph
