#pragma once
// The logged processes by host and PID, to find the one that held a PID when an event names it
// (a script block's writer, the process a 4648 names): started at or before then, not exited.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/expected.hpp"
#include "store/sqlite.hpp"

namespace treeline::graph {

class PidIndex {
 public:
  struct Process {
    int64_t start = 0;
    std::optional<int64_t> end;
    std::string key, session, image;
  };

  // From the processes table (placeholders and processes without a start left out).
  static Expected<PidIndex> load(store::Db& db);

  // The latest process on `host` (a short name) that started with `pid` by `time` and had not
  // exited before it; nothing when none did.
  const Process* at(const std::string& host, int64_t pid, int64_t time) const;

 private:
  std::unordered_map<std::string, std::vector<Process>> by_pid_;  // "host\x1fpid" -> by start
};

// The logon sessions by host and logon id, to find the one a SubjectLogonId meant at a time.
class SessionIndex {
 public:
  static Expected<SessionIndex> load(store::Db& db);
  // The session key of the latest logon with `logon_id` on `host` by `time` (a well-known or
  // unseen session counts from the start); empty when there is none.
  std::string at(const std::string& host, int64_t logon_id, int64_t time) const;

 private:
  std::unordered_map<std::string, std::vector<std::pair<int64_t, std::string>>> by_id_;  // by start
};

// Whether the case has any event with one of these ids (through the event-id index): a join with
// nothing to join skips loading the processes.
Expected<bool> any_event_with_id(store::Db& db, std::string_view ids);

// Whether an image is a PowerShell host (powershell.exe, pwsh.exe, powershell_ise.exe).
bool is_powershell_host(std::string_view image);

}  // namespace treeline::graph
