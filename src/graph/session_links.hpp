#pragma once
// Where each logon session came from (session_links): on its host, the session a type 9 logon
// was made in (its SubjectLogonId) or the first half of a split token; across hosts, the process
// on another host of the case that made a network or RDP logon (remote_logons.hpp), with the
// host addresses learnt from the logs (host_addresses) and the clock offsets found
// (host_clock_offsets).
#include <cstdint>

#include "core/expected.hpp"
#include "graph/join_indexes.hpp"
#include "store/sqlite.hpp"

namespace treeline::graph {

struct SessionLinkStats {
  int64_t origins = 0;          // sessions tied to the session they were made in
  int64_t remote_logons = 0;    // network/RDP logons considered
  int64_t remote_linked = 0;    // of those, tied to a source process
  int64_t remote_ambiguous = 0; // several candidates, none linked
  int64_t clock_offsets = 0;    // host pairs with an estimated offset
};

// Replaces session_links, host_addresses and host_clock_offsets (processes, sessions and the
// explicit-logon links written already, in the same transaction).
Expected<SessionLinkStats> write_session_links(store::Db& db, JoinIndexes& indexes);

}  // namespace treeline::graph
