#include "graph/powershell_events.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <string>
#include <unordered_map>
#include <vector>

#include "core/text.hpp"

namespace treeline::graph {
namespace {

constexpr int64_t kClockSlack = 2 * 10'000'000LL;  // the event may carry a time just before the 4688's

struct Proc {
  int64_t start = 0;
  std::optional<int64_t> end;
  std::string key, session;
};

// A command line as compared with HostApplication: quotes gone, lower-case, trimmed.
std::string command_key(std::string_view command_line) {
  std::string out;
  for (char c : command_line)
    if (c != '"') out += c;
  return to_lower_ascii(trim(out));
}

// All of an event's string values, one after another: the engine's text sits in Data_2 or
// Data_3 (400/800), or in ContextInfo (4103), depending on the event and the exporter.
std::string all_text(const nlohmann::json& data) {
  std::string text;
  for (const auto& [name, value] : data.items())
    if (value.is_string()) text += value.get<std::string>() + "\r\n";
  return text;
}

std::string command_name(std::string_view text) {
  std::string name = engine_field(text, "Command Name");
  if (name.empty()) name = engine_field(text, "CommandName");
  if (!name.empty()) return name;
  // 800: "CommandInvocation(Get-Process): ..."
  if (auto at = text.find("CommandInvocation("); at != std::string_view::npos) {
    auto end = text.find(')', at);
    if (end != std::string_view::npos) return std::string(text.substr(at + 18, end - at - 18));
  }
  return {};
}

}  // namespace

std::string engine_field(std::string_view text, std::string_view key) {
  for (size_t at = text.find(key); at != std::string_view::npos; at = text.find(key, at + 1)) {
    // The key starts a line (after a tab or spaces) and is followed by "=" or " = ".
    if (at > 0 && text[at - 1] != '\t' && text[at - 1] != ' ' && text[at - 1] != '\n') continue;
    size_t v = at + key.size();
    while (v < text.size() && text[v] == ' ') ++v;
    if (v >= text.size() || text[v] != '=') continue;
    ++v;
    while (v < text.size() && text[v] == ' ') ++v;
    size_t end = text.find("\r\n", v);
    return std::string(trim(text.substr(v, end == std::string_view::npos ? std::string_view::npos : end - v)));
  }
  return {};
}

Expected<PowerShellEventStats> write_powershell_events(store::Db& db, JoinIndexes& indexes) {
  PowerShellEventStats stats;
  if (auto s = db.exec("DELETE FROM powershell_event_links"); !s) return s.error();
  auto any = any_event_with_id(db, "400, 403, 800, 4103");
  if (!any) return any.error();
  if (!*any) return stats;
  auto pids = indexes.pids();
  if (!pids) return pids.error();

  // The PowerShell processes by host and command line (SQLite narrows, is_powershell_host decides).
  std::unordered_map<std::string, std::vector<Proc>> by_command;
  auto st = db.prepare(
      "SELECT host, start_time, end_time, process_key, coalesce(session_key, ''), image, command_line FROM processes "
      "WHERE source <> 'placeholder' AND start_time IS NOT NULL AND command_line IS NOT NULL AND "
      "(image LIKE '%powershell%' OR image LIKE '%pwsh%') ORDER BY host, start_time, process_key");
  if (!st) return st.error();
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    if (!is_powershell_host(st->column_text(5))) continue;
    Proc p{st->column_int(1), std::nullopt, st->column_text(3), st->column_text(4)};
    if (!st->column_is_null(2)) p.end = st->column_int(2);
    by_command[fmt::format("{}\x1f{}", st->column_text(0), command_key(st->column_text(6)))].push_back(std::move(p));
  }
  if (rc != SQLITE_DONE) return db.error("reading the PowerShell processes");

  auto ev = db.prepare(
      "SELECT e.event_pk, h.short_name, e.time, e.execution_pid, coalesce(d.data, '{}') FROM events e "
      "JOIN channels c ON c.channel_id = e.channel_id JOIN hosts h ON h.host_id = e.host_id "
      "LEFT JOIN event_data d ON d.event_pk = e.event_pk "
      "WHERE (e.event_id IN (400, 403, 800) AND c.name = 'Windows PowerShell') OR "
      "(e.event_id = 4103 AND c.name IN ('Microsoft-Windows-PowerShell/Operational', 'PowerShellCore/Operational')) "
      "ORDER BY e.event_pk");
  if (!ev) return ev.error();
  auto ins = db.prepare(
      "INSERT INTO powershell_event_links (event_pk, host_application, command_name, process_key, session_key, "
      "link_method, link_confidence, why_not) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins) return ins.error();
  while ((rc = ev->step()) == SQLITE_ROW) {
    const std::string host = ev->column_text(1);
    const int64_t time = ev->column_int(2);
    auto data = nlohmann::json::parse(ev->column_text(4), nullptr, false);
    if (!data.is_object()) data = nlohmann::json::object();  // a damaged record's data: names nothing
    const std::string text = all_text(data);
    std::string application = engine_field(text, "HostApplication");
    if (application.empty()) application = engine_field(text, "Host Application");
    std::string process, session, method = "none", why;
    double confidence = 0;
    const int64_t pid = ev->column_is_null(3) ? 0 : ev->column_int(3);
    if (pid > 0) {
      if (const PidIndex::Process* p = (*pids)->at(host, pid, time)) {
        process = p->key;
        session = p->session;
        method = "execution_pid";
        confidence = is_powershell_host(p->image) ? 1.0 : 0.8;
      } else {
        why = "no logged process held its Execution ProcessID then";
      }
    }
    if (process.empty() && !application.empty()) {
      std::vector<const Proc*> running;
      if (auto it = by_command.find(fmt::format("{}\x1f{}", host, command_key(application))); it != by_command.end())
        for (const Proc& p : it->second)
          if (p.start <= time + kClockSlack && (!p.end || *p.end >= time)) running.push_back(&p);
      if (running.size() == 1) {
        process = running.front()->key;
        session = running.front()->session;
        method = "host_application";
        confidence = 0.9;
        why.clear();
      } else {
        // Several alike: a wrong link is worse than none.
        why = running.empty() ? "no logged PowerShell process with that command line ran then"
                              : fmt::format("{} PowerShell processes with that command line ran then", running.size());
      }
    } else if (process.empty() && why.empty()) {
      why = "the event names no process";
    }
    ins->reset();
    ins->bind(1, ev->column_int(0));
    ins->bind_text_or_null(2, application);
    ins->bind_text_or_null(3, command_name(text));
    ins->bind_text_or_null(4, process);
    ins->bind_text_or_null(5, session);
    ins->bind(6, std::string_view(method));
    if (method != "none") ins->bind_double(7, confidence); else ins->bind_null(7);
    ins->bind_text_or_null(8, why);
    if (ins->step() != SQLITE_DONE) return db.error("writing a PowerShell event's links");
    ++stats.events;
    if (!process.empty()) ++stats.linked;
  }
  if (rc != SQLITE_DONE) return db.error("reading the PowerShell engine events");
  return stats;
}

}  // namespace treeline::graph
