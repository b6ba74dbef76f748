#pragma once
// Scheduled tasks (Security 4698-4702) joined to who registered them and to their later runs.
// The task XML gives the command, arguments, triggers and principal. The creator: a process on
// that host whose command line registered that task name (schtasks /create /tn, Register-
// ScheduledTask -TaskName) within a minute before, else SubjectLogonId's session. A run: a child
// of the Task Scheduler (taskeng.exe, or svchost.exe of netsvcs or the Schedule service) with
// the task's command as its image, after the task was registered.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.hpp"
#include "graph/join_indexes.hpp"
#include "store/sqlite.hpp"

namespace treeline::graph {

struct TaskStats {
  int64_t events = 0, with_creator = 0, runs = 0, xml_errors = 0;
};

// What a task's XML says (Task Scheduler's schema, unqualified names in its namespace).
struct TaskDefinition {
  std::string command, arguments, run_as, run_level;
  std::vector<std::string> triggers;  // element names: LogonTrigger, CalendarTrigger, ...
  int actions = 0;
  std::string error;  // not readable as XML: why
};
TaskDefinition parse_task_xml(std::string_view xml);

// Replaces scheduled_task_links and scheduled_task_runs.
Expected<TaskStats> write_scheduled_tasks(store::Db& db, JoinIndexes& indexes);

}  // namespace treeline::graph
