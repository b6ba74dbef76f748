#include "graph/script_blocks.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/text.hpp"
#include "graph/join_indexes.hpp"

namespace treeline::graph {
namespace {

struct Part {
  int64_t event_pk = 0, time = 0;
  int64_t number = 0, total = 0;  // 0: not given
  std::optional<int64_t> pid;
  std::string text, path;
};

}  // namespace

Expected<ScriptBlockStats> write_script_blocks(store::Db& db, JoinIndexes& indexes) {
  ScriptBlockStats stats;
  if (auto s = db.exec("DELETE FROM ps_script_blocks"); !s) return s.error();
  auto any = any_event_with_id(db, "4104");
  if (!any) return any.error();
  if (!*any) return stats;
  auto pids = indexes.pids();
  if (!pids) return pids.error();
  int rc;

  // The parts, by host and ScriptBlockId.
  std::map<std::pair<std::string, std::string>, std::vector<Part>> blocks;
  auto ev = db.prepare(
      "SELECT e.event_pk, h.short_name, e.time, e.execution_pid, d.data FROM events e "
      "JOIN channels c ON c.channel_id = e.channel_id JOIN hosts h ON h.host_id = e.host_id "
      "JOIN event_data d ON d.event_pk = e.event_pk "
      "WHERE e.event_id = 4104 AND c.name IN ('Microsoft-Windows-PowerShell/Operational', 'PowerShellCore/Operational') "
      "ORDER BY e.event_pk");
  if (!ev) return ev.error();
  while ((rc = ev->step()) == SQLITE_ROW) {
    // Data that is not an object (a damaged record's) has no block to give: left out.
    auto data = nlohmann::json::parse(ev->column_text(4), nullptr, false);
    if (!data.is_object()) continue;
    Part p;
    p.event_pk = ev->column_int(0);
    p.time = ev->column_int(2);
    if (!ev->column_is_null(3)) p.pid = ev->column_int(3);
    p.number = parse_windows_int(data_field(data, "MessageNumber")).value_or(0);
    p.total = parse_windows_int(data_field(data, "MessageTotal")).value_or(0);
    p.text = data_field(data, "ScriptBlockText");
    p.path = data_field(data, "Path");
    std::string id = data_field(data, "ScriptBlockId");
    // No ScriptBlockId: the record is its own block.
    if (id.empty()) id = fmt::format("(event {})", p.event_pk);
    blocks[{ev->column_text(1), id}].push_back(std::move(p));
  }
  if (rc != SQLITE_DONE) return db.error("reading the script blocks");

  auto ins = db.prepare(
      "INSERT INTO ps_script_blocks (script_block_key, host, script_block_id, first_event_pk, time, parts_total, "
      "parts_seen, missing_parts, path, text, execution_pid, process_key, session_key, link_method, link_confidence) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins) return ins.error();
  for (auto& [where, parts] : blocks) {
    const auto& [host, id] = where;
    // In MessageNumber order; a part logged twice (overlapping exports) counts once.
    std::stable_sort(parts.begin(), parts.end(), [](const Part& a, const Part& b) { return a.number < b.number; });
    parts.erase(std::unique(parts.begin(), parts.end(),
                            [](const Part& a, const Part& b) { return a.number != 0 && a.number == b.number; }),
                parts.end());
    const Part* first = &parts.front();
    int64_t total = 0;
    for (const Part& p : parts) {
      if (p.time < first->time) first = &p;
      total = std::max(total, p.total);
    }
    std::string text, missing;
    int64_t expected = 1;
    auto gap_to = [&](int64_t upto) {
      for (; expected < upto; ++expected) {
        missing += (missing.empty() ? "" : ",") + std::to_string(expected);
        text += fmt::format("[part {} of {} not in the log]", expected, total);
      }
    };
    for (const Part& p : parts) {
      if (p.number > 0) gap_to(p.number);
      text += p.text;
      expected = std::max(expected, p.number + 1);
    }
    if (total > 0) gap_to(total + 1);
    // The process: the one that held the writer's PID on this host at that time.
    const PidIndex::Process* proc = first->pid ? (*pids)->at(host, *first->pid, first->time) : nullptr;
    ins->reset();
    ins->bind(1, std::string_view(fmt::format("{}:{}", host, id)));
    ins->bind(2, std::string_view(host));
    ins->bind(3, std::string_view(id));
    ins->bind(4, first->event_pk);
    ins->bind(5, first->time);
    if (total > 0) ins->bind(6, total); else ins->bind_null(6);
    ins->bind(7, static_cast<int64_t>(parts.size()));
    ins->bind_text_or_null(8, missing);
    ins->bind_text_or_null(9, first->path);
    ins->bind(10, std::string_view(text));
    ins->bind_or_null(11, first->pid);
    if (proc) {
      ins->bind(12, std::string_view(proc->key));
      ins->bind_text_or_null(13, proc->session);
      ins->bind(14, std::string_view("execution_pid"));
      // A PowerShell host whose PID it is: certain. Another image: the PID is the writer's, but
      // an exit the log missed could have freed it for this one.
      ins->bind_double(15, is_powershell_host(proc->image) || proc->end ? 1.0 : 0.8);
      ++stats.linked;
    } else {
      ins->bind_null(12);
      ins->bind_null(13);
      ins->bind(14, std::string_view("none"));
      ins->bind_null(15);
    }
    if (ins->step() != SQLITE_DONE) return db.error("writing a script block");
    ++stats.blocks;
    if (!missing.empty()) ++stats.incomplete;
  }
  return stats;
}

}  // namespace treeline::graph
