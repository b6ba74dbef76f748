#include "graph/join_indexes.hpp"

#include <fmt/format.h>

#include "core/text.hpp"

namespace treeline::graph {

Expected<PidIndex> PidIndex::load(store::Db& db) {
  PidIndex ix;
  auto st = db.prepare(
      "SELECT host, pid, start_time, end_time, process_key, coalesce(session_key, ''), coalesce(image, '') "
      "FROM processes WHERE source <> 'placeholder' AND start_time IS NOT NULL ORDER BY host, pid, start_time");
  if (!st) return st.error();
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    Process p;
    p.start = st->column_int(2);
    if (!st->column_is_null(3)) p.end = st->column_int(3);
    p.key = st->column_text(4);
    p.session = st->column_text(5);
    p.image = st->column_text(6);
    ix.by_pid_[fmt::format("{}\x1f{}", st->column_text(0), st->column_int(1))].push_back(std::move(p));
  }
  if (rc != SQLITE_DONE) return db.error("reading the processes by PID");
  return ix;
}

const PidIndex::Process* PidIndex::at(const std::string& host, int64_t pid, int64_t time) const {
  auto it = by_pid_.find(fmt::format("{}\x1f{}", host, pid));
  if (it == by_pid_.end()) return nullptr;
  const Process* found = nullptr;
  for (const Process& p : it->second)
    if (p.start <= time && (!p.end || *p.end >= time)) found = &p;
  return found;
}

Expected<SessionIndex> SessionIndex::load(store::Db& db) {
  SessionIndex ix;
  auto st = db.prepare("SELECT host, logon_id, coalesce(start_time, 0), session_key FROM sessions ORDER BY host, logon_id, 3");
  if (!st) return st.error();
  int rc;
  while ((rc = st->step()) == SQLITE_ROW)
    ix.by_id_[fmt::format("{}\x1f{}", st->column_text(0), st->column_int(1))].emplace_back(st->column_int(2),
                                                                                          st->column_text(3));
  if (rc != SQLITE_DONE) return db.error("reading the sessions by logon id");
  return ix;
}

std::string SessionIndex::at(const std::string& host, int64_t logon_id, int64_t time) const {
  auto it = by_id_.find(fmt::format("{}\x1f{}", host, logon_id));
  if (it == by_id_.end()) return {};
  std::string found;
  for (const auto& [start, key] : it->second)
    if (start <= time) found = key;
  return found;
}

Expected<const PidIndex*> JoinIndexes::pids() {
  if (!pids_) {
    auto loaded = PidIndex::load(db_);
    if (!loaded) return loaded.error();
    pids_ = std::move(*loaded);
  }
  return &*pids_;
}

Expected<const SessionIndex*> JoinIndexes::sessions() {
  if (!sessions_) {
    auto loaded = SessionIndex::load(db_);
    if (!loaded) return loaded.error();
    sessions_ = std::move(*loaded);
  }
  return &*sessions_;
}

std::string data_field(const nlohmann::json& data, const char* name) {
  auto it = data.find(name);
  if (it == data.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array() && !it->empty() && it->front().is_string()) return it->front().get<std::string>();
  return it->dump();
}

Expected<bool> any_event_with_id(store::Db& db, std::string_view ids) {
  auto n = db.query_int(fmt::format("SELECT EXISTS (SELECT 1 FROM events WHERE event_id IN ({}))", ids));
  if (!n) return n.error();
  return *n != 0;
}

bool is_powershell_host(std::string_view image) {
  const std::string name = to_lower_ascii(base_name(image));
  return name == "powershell.exe" || name == "pwsh.exe" || name == "powershell_ise.exe";
}

}  // namespace treeline::graph
