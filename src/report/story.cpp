#include "report/story.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <vector>

#include "core/text.hpp"
#include "core/time.hpp"
#include "graph/state.hpp"

namespace treeline::story_files {
const std::vector<std::pair<std::string_view, std::string_view>>& embedded_files();
}

namespace treeline::report {
namespace {

struct Row {
  int64_t time = 0;
  int rank = 0;  // at one time: logons, then processes, then what they did
  std::string host, kind, role, summary, process_key, session_key, source_path;
  int64_t record_id = -1;
};

int rank_of(const std::string& kind) { return kind == "logon" ? 0 : kind == "process" ? 1 : 2; }

constexpr const char* kSetUp = R"sql(
CREATE TEMP TABLE IF NOT EXISTS story_processes (process_key TEXT PRIMARY KEY, role TEXT NOT NULL);
CREATE TEMP TABLE IF NOT EXISTS story_sessions (session_key TEXT PRIMARY KEY, role TEXT NOT NULL);
CREATE TEMP TABLE IF NOT EXISTS story_window (host TEXT PRIMARY KEY, from_ft INTEGER, to_ft INTEGER);
DELETE FROM temp.story_processes; DELETE FROM temp.story_sessions; DELETE FROM temp.story_window;
)sql";

// The sets the story's queries read, from its anchor processes (role 'process') outwards. The
// first role a key gets stays.
constexpr const char* kWiden = R"sql(
INSERT OR IGNORE INTO temp.story_processes
  WITH RECURSIVE up(k) AS (SELECT process_key FROM temp.story_processes WHERE role = 'process'
                           UNION SELECT e.parent_key FROM process_edges e JOIN up ON e.child_key = up.k)
  SELECT k, 'ancestor' FROM up;
INSERT OR IGNORE INTO temp.story_processes
  WITH RECURSIVE down(k) AS (SELECT process_key FROM temp.story_processes WHERE role = 'process'
                             UNION SELECT e.child_key FROM process_edges e JOIN down ON e.parent_key = down.k)
  SELECT k, 'descendant' FROM down;
-- The sessions its processes ran in. A session all of whose processes are the story's is the
-- story's too (what it installed counts); one shared with other processes, or an ancestor's,
-- gives its logon only (what else that session did is another story).
INSERT OR IGNORE INTO temp.story_sessions
  SELECT DISTINCT p.session_key, 'session' FROM temp.story_processes sp JOIN processes p USING (process_key)
  WHERE p.session_key IS NOT NULL AND sp.role IN ('process', 'descendant')
    AND NOT EXISTS (SELECT 1 FROM processes o WHERE o.session_key = p.session_key AND o.process_key NOT IN
                    (SELECT process_key FROM temp.story_processes WHERE role IN ('process', 'descendant')));
INSERT OR IGNORE INTO temp.story_sessions
  SELECT DISTINCT p.session_key, 'shared session' FROM temp.story_processes sp JOIN processes p USING (process_key)
  WHERE p.session_key IS NOT NULL AND sp.role IN ('process', 'descendant');
INSERT OR IGNORE INTO temp.story_sessions
  WITH RECURSIVE origin(k) AS (SELECT session_key FROM temp.story_sessions
                               UNION SELECT l.origin_session_key FROM session_links l JOIN origin ON l.session_key = origin.k
                               WHERE l.origin_session_key IS NOT NULL)
  SELECT k, 'origin' FROM origin;
INSERT OR IGNORE INTO temp.story_sessions
  SELECT DISTINCT p.session_key, 'ancestor session' FROM temp.story_processes sp JOIN processes p USING (process_key)
  WHERE p.session_key IS NOT NULL AND sp.role = 'ancestor';
-- Across hosts: the process that opened one of its logons, and the logons its processes opened
-- elsewhere, with the processes that ran in those.
INSERT OR IGNORE INTO temp.story_processes
  SELECT l.source_process_key, 'remote source' FROM session_links l JOIN temp.story_sessions USING (session_key)
  WHERE l.source_process_key IS NOT NULL;
INSERT OR IGNORE INTO temp.story_sessions
  SELECT l.session_key, 'remote logon' FROM session_links l JOIN temp.story_processes sp ON sp.process_key = l.source_process_key
  WHERE sp.role IN ('process', 'descendant');
INSERT OR IGNORE INTO temp.story_processes
  SELECT p.process_key, 'remote' FROM processes p JOIN temp.story_sessions ss USING (session_key) WHERE ss.role = 'remote logon';
-- What its processes and sessions installed: the service's own process, the task's runs.
INSERT OR IGNORE INTO temp.story_processes
  SELECT l.service_process_key, 'service' FROM service_install_links l
  WHERE l.service_process_key IS NOT NULL AND (l.installer_process_key IN (SELECT process_key FROM temp.story_processes)
        OR l.installer_session_key IN (SELECT session_key FROM temp.story_sessions WHERE role NOT IN ('ancestor session', 'shared session')));
INSERT OR IGNORE INTO temp.story_processes
  SELECT r.process_key, 'task run' FROM scheduled_task_runs r JOIN scheduled_task_links t USING (event_pk)
  WHERE t.creator_process_key IN (SELECT process_key FROM temp.story_processes)
        OR t.session_key IN (SELECT session_key FROM temp.story_sessions WHERE role NOT IN ('ancestor session', 'shared session'));
-- And what those ran.
INSERT OR IGNORE INTO temp.story_processes
  WITH RECURSIVE down(k, role) AS (SELECT process_key, role FROM temp.story_processes WHERE role IN ('service', 'task run')
                                   UNION SELECT e.child_key, down.role FROM process_edges e JOIN down ON e.parent_key = down.k)
  SELECT k, role FROM down;
)sql";

Status anchor_processes(store::Db& db, const StoryAnchor& anchor) {
  auto add = [&](const char* sql, const std::string& key) -> Expected<int64_t> {
    auto st = db.prepare(sql);
    if (!st) return st.error();
    st->bind(1, std::string_view(key));
    if (st->step() != SQLITE_DONE) return db.error("choosing the story's processes");
    return static_cast<int64_t>(sqlite3_changes(db.get()));
  };
  if (anchor.finding_id) {
    auto st = db.prepare(
        "SELECT coalesce(f.process_key, ''), coalesce((SELECT s.session_key FROM finding_events fe JOIN sessions s "
        "ON s.logon_event_pk = fe.event_pk WHERE fe.finding_id = f.finding_id ORDER BY fe.event_pk LIMIT 1), '') "
        "FROM findings f WHERE f.finding_id = ?");
    if (!st) return st.error();
    st->bind(1, anchor.finding_id);
    if (st->step() != SQLITE_ROW)
      return Error{ErrorCode::kUsage, fmt::format("the case has no finding {} (treeline hunt lists them)", anchor.finding_id)};
    StoryAnchor resolved;
    resolved.process_key = st->column_text(0);
    resolved.session_key = st->column_text(1);
    if (resolved.process_key.empty() && resolved.session_key.empty())
      return Error{ErrorCode::kUsage, fmt::format("finding {} names no process and no logon to tell the story of",
                                                  anchor.finding_id)};
    return anchor_processes(db, resolved.process_key.empty() ? StoryAnchor{0, "", resolved.session_key}
                                                             : StoryAnchor{0, resolved.process_key, ""});
  }
  if (!anchor.process_key.empty()) {
    auto n = add("INSERT INTO temp.story_processes SELECT process_key, 'process' FROM processes WHERE process_key = ?",
                 anchor.process_key);
    if (!n) return n.error();
    if (*n == 0) return Error{ErrorCode::kUsage, "the case has no process " + anchor.process_key + " (tree --keys lists them)"};
    return ok_status();
  }
  auto n = add("INSERT INTO temp.story_sessions SELECT session_key, 'session' FROM sessions WHERE session_key = ?",
               anchor.session_key);
  if (!n) return n.error();
  if (*n == 0) return Error{ErrorCode::kUsage, "the case has no session " + anchor.session_key + " (sessions lists them)"};
  // A session's own processes are what its story is about.
  auto m = add("INSERT INTO temp.story_processes SELECT process_key, 'process' FROM processes WHERE session_key = ?",
               anchor.session_key);
  if (!m) return m.error();
  return ok_status();
}

Status read_rows(store::Db& db, std::string_view sql, std::vector<Row>& out) {
  auto st = db.prepare(sql);
  if (!st) return st.error();
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    Row r;
    if (st->column_is_null(0)) continue;  // a row with no time has no place in a timeline (a placeholder's)
    r.time = st->column_int(0);
    r.host = st->column_text(1);
    r.kind = st->column_text(2);
    r.rank = rank_of(r.kind);
    r.role = st->column_text(3);
    r.summary = st->column_text(4);
    r.process_key = st->column_text(5);
    r.session_key = st->column_text(6);
    if (!st->column_is_null(7)) r.record_id = st->column_int(7);
    r.source_path = st->column_text(8);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return db.error("reading the story");
  return ok_status();
}

}  // namespace

std::string script_preview(std::string_view text, size_t lines) {
  std::vector<std::string> kept;
  size_t rest = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    if (kept.size() < lines) kept.push_back(cut_end(line, 200));
    else ++rest;
  }
  std::string out = join(kept, " ⏎ ");
  if (rest) out += fmt::format(" (+{} more line{})", rest, rest == 1 ? "" : "s");
  return out;
}

Expected<Table> story_table(store::Db& db, const StoryAnchor& anchor, const StoryOptions& options) {
  if (auto s = graph::require_current_graph(db); !s) return s.error();
  if (auto s = db.exec(kSetUp); !s) return s.error();
  if (auto s = anchor_processes(db, anchor); !s) return s.error();
  if (auto s = db.exec(kWiden); !s) return s.error();

  std::vector<Row> rows;
  const auto& parts = story_files::embedded_files();
  for (size_t i = 0; i + 1 < parts.size(); ++i)
    if (auto s = read_rows(db, parts[i].second, rows); !s) return s.error();
  // The last part (audit changes) reads the story's span per host, known now.
  std::map<std::string, std::pair<int64_t, int64_t>> span;
  for (const Row& r : rows) {
    auto [it, fresh] = span.try_emplace(r.host, r.time, r.time);
    it->second.first = std::min(it->second.first, r.time);
    it->second.second = std::max(it->second.second, r.time);
  }
  {
    auto ins = db.prepare("INSERT INTO temp.story_window (host, from_ft, to_ft) VALUES (?, ?, ?)");
    if (!ins) return ins.error();
    for (const auto& [host, w] : span) {
      ins->reset();
      ins->bind(1, std::string_view(host));
      ins->bind(2, w.first);
      ins->bind(3, w.second);
      if (ins->step() != SQLITE_DONE) return db.error("writing the story's span");
    }
  }
  if (!parts.empty())
    if (auto s = read_rows(db, parts.back().second, rows); !s) return s.error();

  // Time order, stable across runs: then logons before processes, then the record.
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::tie(a.time, a.rank, a.host, a.source_path, a.record_id, a.kind) <
           std::tie(b.time, b.rank, b.host, b.source_path, b.record_id, b.kind);
  });
  Table t;
  if (options.for_terminal) t.columns = {"time_utc", "host", "kind", "role", "summary", "record"};
  else t.columns = {"time_utc", "host", "kind", "role", "summary", "source_path", "record_id", "process_key", "session_key"};
  for (Row& r : rows) {
    if (r.kind == "script_block") {
      // The header line, then the script's first lines.
      auto nl = r.summary.find('\n');
      if (nl != std::string::npos)
        r.summary = r.summary.substr(0, nl) + ": " + script_preview(std::string_view(r.summary).substr(nl + 1), options.script_lines);
    }
    const std::string when = filetime_to_iso(r.time);
    auto text_or_null = [](const std::string& s) { return s.empty() ? Cell{} : Cell{s}; };
    if (options.for_terminal) {
      std::string record = r.record_id >= 0 ? fmt::format("{}:{}", base_name(r.source_path), r.record_id) : "";
      t.rows.push_back({when.substr(0, 10) + " " + when.substr(11, 8), r.host, r.kind, r.role, r.summary, record});
    } else {
      t.rows.push_back({when, r.host, r.kind, r.role, r.summary, text_or_null(r.source_path),
                        r.record_id >= 0 ? Cell{r.record_id} : Cell{}, text_or_null(r.process_key),
                        text_or_null(r.session_key)});
    }
  }
  return t;
}

}  // namespace treeline::report
