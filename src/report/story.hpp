#pragma once
// `treeline story`: the narrative around a finding, a process or a session, in time order. It
// starts with the logons that led there (type, address, the session a type 9 was made in, the
// process on another host that opened it), then the process chain, the script blocks and
// PowerShell engines each ran, the children, the services, tasks and explicit credentials of
// that session or its processes, and the log clears and audit changes on those hosts within the
// story's span. Every row names its record (source file, record id). One embedded query per kind
// of row (src/report/story/*.sql) over the graph stage's views.
#include <cstdint>
#include <string>

#include "core/table.hpp"
#include "store/sqlite.hpp"

namespace treeline::report {

struct StoryAnchor {
  int64_t finding_id = 0;   // 0: none
  std::string process_key;  // or this process
  std::string session_key;  // or this session
};

struct StoryOptions {
  bool for_terminal = false;  // short columns (time to the second, file name:record) instead of every key
  size_t script_lines = 3;    // a script block's first lines shown; the rest counted
};

// Refuses (kStale) when the graph does not match the events, and (kUsage) an anchor the case
// does not hold.
Expected<Table> story_table(store::Db& db, const StoryAnchor& anchor, const StoryOptions& options);

// A script's first `lines` non-empty lines, each cut to 200 columns, then "(+N more lines)".
std::string script_preview(std::string_view text, size_t lines);

}  // namespace treeline::report
