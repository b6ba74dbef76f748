#pragma once
// What the graph stage's joins of events to processes and sessions (script blocks, 4648s,
// service installs) share: who held a PID on a host at a time, which session a logon id meant
// then, and the event's data fields. Loaded once per rebuild, by the first join that needs them.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string_view>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/expected.hpp"
#include "store/sqlite.hpp"

namespace treeline::graph {

// The logged processes by host and PID: the one that held a PID when an event names it
// (started at or before then, not exited).
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

// Both indexes, each loaded on first use: a rebuild whose case has none of the joined events
// loads neither, one with several joins loads each once.
class JoinIndexes {
 public:
  explicit JoinIndexes(store::Db& db) : db_(db) {}
  Expected<const PidIndex*> pids();
  Expected<const SessionIndex*> sessions();

 private:
  store::Db& db_;
  std::optional<PidIndex> pids_;
  std::optional<SessionIndex> sessions_;
};

// A field of an event's data (its JSON object) as text: the first of a repeated field, a number
// as written, empty when absent or null.
std::string data_field(const nlohmann::json& data, const char* name);

// Whether the case has any event with one of these ids (through the event-id index): a join with
// nothing to join skips loading the processes.
Expected<bool> any_event_with_id(store::Db& db, std::string_view ids);

// Whether an image is a PowerShell host (powershell.exe, pwsh.exe, powershell_ise.exe).
bool is_powershell_host(std::string_view image);

}  // namespace treeline::graph
