#pragma once
// 4648 (a logon with explicit credentials) joined to the process that used them: the ProcessId
// it names on that host at that time, checked against the ProcessName it names; and to the
// session, the process's or else the one SubjectLogonId had then.
#include <cstdint>

#include "core/expected.hpp"
#include "graph/join_indexes.hpp"
#include "store/sqlite.hpp"

namespace treeline::graph {

struct ExplicitLogonStats {
  int64_t events = 0, linked = 0;
};

// Replaces explicit_logon_links (processes and sessions written already, in the same transaction).
Expected<ExplicitLogonStats> write_explicit_logons(store::Db& db, JoinIndexes& indexes);

}  // namespace treeline::graph
