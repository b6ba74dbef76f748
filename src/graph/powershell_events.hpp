#pragma once
// Windows PowerShell's classic engine events (400 engine started, 403 stopped, 800 pipeline
// executed) and module logging (PowerShell/Operational 4103), tied to the PowerShell process that
// wrote them. A record with an Execution ProcessID goes to the process that held that PID then;
// the classic log writes none (0), so there the HostApplication (the host's own command line)
// decides: the one logged process on that host running with that command line at the time, and
// none when several were.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/expected.hpp"
#include "graph/join_indexes.hpp"
#include "store/sqlite.hpp"

namespace treeline::graph {

struct PowerShellEventStats {
  int64_t events = 0, linked = 0;
};

// The value of `key` in an engine event's text ("\tHostApplication=...\r\n", or 4103's
// "Host Application = ...\r\n"): up to the line's "\r\n" (the value itself may hold bare "\n").
std::string engine_field(std::string_view text, std::string_view key);

// Replaces powershell_event_links.
Expected<PowerShellEventStats> write_powershell_events(store::Db& db, JoinIndexes& indexes);

}  // namespace treeline::graph
