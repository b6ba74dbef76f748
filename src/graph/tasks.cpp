#include "graph/tasks.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include <map>
#include <string>
#include <vector>

#include "core/regex.hpp"
#include "core/text.hpp"
#include "graph/services.hpp"

namespace treeline::graph {
namespace {

constexpr int64_t kSecond = 10'000'000;
constexpr int64_t kCreatorWindow = 60 * kSecond;  // the command that registers it, just before

struct Proc {
  int64_t start = 0;
  std::string key, session, image;
};

// A task name as schtasks and 4698 spell it, for comparing: lower-case, no leading backslash.
std::string task_name_key(std::string_view name) {
  std::string n = to_lower_ascii(trim(name));
  while (!n.empty() && n.front() == '\\') n.erase(0, 1);
  return n;
}

// Whether a registered name (from a command line) is this task: the same path, or the same last
// part when the command gave no folder.
bool same_task(const std::string& registered, const std::string& task) {
  if (registered == task) return true;
  if (registered.find('\\') != std::string::npos) return false;
  auto slash = task.rfind('\\');
  return slash != std::string::npos && task.substr(slash + 1) == registered;
}

// Whether a process image runs a task's command: the same path, or the same file name when the
// command names no folder (the scheduler finds it on PATH).
bool runs_command(const std::string& image, const std::string& command) {
  if (command.empty()) return false;
  const std::string exe = service_executable(command);
  const std::string img = to_lower_ascii(image);
  if (exe.find('\\') == std::string::npos) return to_lower_ascii(base_name(img)) == exe;
  return img == exe;
}

bool is_scheduler(const std::string& image, const std::string& command_line) {
  const std::string name = to_lower_ascii(base_name(image));
  if (name == "taskeng.exe") return true;
  if (name != "svchost.exe") return false;
  const std::string cmd = to_lower_ascii(command_line);
  return cmd.empty() || cmd.find("netsvcs") != std::string::npos || cmd.find("schedule") != std::string::npos;
}

}  // namespace

TaskDefinition parse_task_xml(std::string_view xml) {
  TaskDefinition t;
  if (trim(xml).empty()) return t;  // 4699 has none
  pugi::xml_document doc;
  // The XML says UTF-16 in its declaration; the log handed it over as UTF-8 text.
  auto r = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!r) {
    t.error = fmt::format("task XML unreadable at offset {}: {}", r.offset, r.description());
    return t;
  }
  pugi::xml_node task = doc.child("Task");
  if (!task) {
    t.error = "task XML has no <Task> element";
    return t;
  }
  for (pugi::xml_node trigger : task.child("Triggers").children())
    if (trigger.type() == pugi::node_element) t.triggers.emplace_back(trigger.name());
  for (pugi::xml_node action : task.child("Actions").children()) {
    if (action.type() != pugi::node_element) continue;
    ++t.actions;
    if (t.command.empty() && std::string_view(action.name()) == "Exec") {
      t.command = trim(action.child_value("Command"));
      t.arguments = trim(action.child_value("Arguments"));
    }
  }
  pugi::xml_node principal = task.child("Principals").child("Principal");
  t.run_as = trim(principal.child_value("UserId"));
  if (t.run_as.empty()) t.run_as = trim(principal.child_value("GroupId"));
  t.run_level = trim(principal.child_value("RunLevel"));
  return t;
}

Expected<TaskStats> write_scheduled_tasks(store::Db& db, JoinIndexes& indexes) {
  TaskStats stats;
  if (auto s = db.exec("DELETE FROM scheduled_task_runs; DELETE FROM scheduled_task_links"); !s) return s.error();
  auto any = any_event_with_id(db, "4698, 4699, 4700, 4701, 4702");
  if (!any) return any.error();
  if (!*any) return stats;
  auto sessions = indexes.sessions();
  if (!sessions) return sessions.error();

  // Per host: processes whose command line registers a task, and the scheduler's children.
  static const Regex kSchtasks = *Regex::compile(R"((?i)\bschtasks(?:\.exe)?\b.*?[/-]create\b)");
  static const Regex kSchtasksName = *Regex::compile(R"re((?i)[/-]tn\s+"?([^"]+?)"?(?:\s+[/-]|\s*$))re");
  static const Regex kRegister = *Regex::compile(R"re((?i)\bregister-scheduledtask\b.*?-taskname\s+['"]?([^'"]+?)['"]?(?:\s+-|\s*$))re");
  std::map<std::string, std::vector<std::pair<std::string, Proc>>> creators;  // host -> (task name, process)
  std::map<std::string, std::vector<Proc>> scheduler_children;
  auto st = db.prepare(
      "SELECT p.host, p.start_time, p.process_key, coalesce(p.session_key, ''), coalesce(p.image, ''), "
      "coalesce(p.command_line, ''), coalesce(pp.image, ''), coalesce(pp.command_line, '') FROM processes p "
      "LEFT JOIN process_edges e ON e.child_key = p.process_key LEFT JOIN processes pp ON pp.process_key = e.parent_key "
      "WHERE p.source <> 'placeholder' AND p.start_time IS NOT NULL AND (p.command_line LIKE '%schtasks%' OR "
      "p.command_line LIKE '%register-scheduledtask%' OR pp.image LIKE '%\\taskeng.exe' OR pp.image LIKE '%\\svchost.exe') "
      "ORDER BY p.host, p.start_time, p.process_key");
  if (!st) return st.error();
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    Proc p{st->column_int(1), st->column_text(2), st->column_text(3), st->column_text(4)};
    const std::string host = st->column_text(0), cmd = st->column_text(5);
    std::optional<Regex::Match> m;
    if (kSchtasks.search(cmd)) m = kSchtasksName.find(cmd);
    if (!m) m = kRegister.find(cmd);
    if (m) creators[host].emplace_back(task_name_key(m->group1), p);
    if (is_scheduler(st->column_text(6), st->column_text(7))) scheduler_children[host].push_back(std::move(p));
  }
  if (rc != SQLITE_DONE) return db.error("reading the processes for scheduled tasks");

  auto ev = db.prepare(
      "SELECT e.event_pk, h.short_name, e.time, e.event_id, coalesce(d.data, '{}') FROM events e "
      "JOIN channels c ON c.channel_id = e.channel_id JOIN hosts h ON h.host_id = e.host_id "
      "LEFT JOIN event_data d ON d.event_pk = e.event_pk "
      "WHERE e.event_id BETWEEN 4698 AND 4702 AND c.name = 'Security' ORDER BY e.event_pk");
  if (!ev) return ev.error();
  auto ins = db.prepare(
      "INSERT INTO scheduled_task_links (event_pk, task_name, command, arguments, actions, triggers, run_as, run_level, "
      "creator_process_key, session_key, creator_method, xml_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins) return ins.error();
  auto run = db.prepare("INSERT OR IGNORE INTO scheduled_task_runs (event_pk, process_key) VALUES (?, ?)");
  if (!run) return run.error();
  while ((rc = ev->step()) == SQLITE_ROW) {
    const int64_t pk = ev->column_int(0), time = ev->column_int(2), id = ev->column_int(3);
    const std::string host = ev->column_text(1);
    auto data = nlohmann::json::parse(ev->column_text(4), nullptr, false);
    if (!data.is_object()) data = nlohmann::json::object();  // a damaged record's data: names nothing
    const std::string name = data_field(data, "TaskName");
    const TaskDefinition def = parse_task_xml(data_field(data, id == 4702 ? "TaskContentNew" : "TaskContent"));
    std::string creator, session, method = "none";
    if (auto c = creators.find(host); c != creators.end() && !name.empty() && (id == 4698 || id == 4702))
      for (const auto& [registered, p] : c->second)
        if (same_task(registered, task_name_key(name)) && p.start <= time && time - p.start <= kCreatorWindow) {
          creator = p.key;
          session = p.session;
          method = "command_line";
        }
    if (creator.empty())
      if (auto logon = parse_windows_int(data_field(data, "SubjectLogonId"))) {
        session = (*sessions)->at(host, *logon, time);
        if (!session.empty()) method = "logon_id";
      }
    ins->reset();
    ins->bind(1, pk);
    ins->bind_text_or_null(2, name);
    ins->bind_text_or_null(3, def.command);
    ins->bind_text_or_null(4, def.arguments);
    ins->bind(5, static_cast<int64_t>(def.actions));
    ins->bind_text_or_null(6, join(def.triggers, ","));
    ins->bind_text_or_null(7, def.run_as);
    ins->bind_text_or_null(8, def.run_level);
    ins->bind_text_or_null(9, creator);
    ins->bind_text_or_null(10, session);
    ins->bind(11, std::string_view(method));
    ins->bind_text_or_null(12, def.error);
    if (ins->step() != SQLITE_DONE) return db.error("writing a scheduled task's links");
    ++stats.events;
    if (method != "none") ++stats.with_creator;
    if (!def.error.empty()) ++stats.xml_errors;
    // Runs: the scheduler's children with the task's command, after this registration.
    if (auto c = scheduler_children.find(host); c != scheduler_children.end() && (id == 4698 || id == 4702))
      for (const Proc& p : c->second)
        if (p.start >= time && runs_command(p.image, def.command)) {
          run->reset();
          run->bind(1, pk);
          run->bind(2, std::string_view(p.key));
          if (run->step() != SQLITE_DONE) return db.error("writing a scheduled task's run");
          ++stats.runs;
        }
  }
  if (rc != SQLITE_DONE) return db.error("reading the scheduled tasks");
  return stats;
}

}  // namespace treeline::graph
