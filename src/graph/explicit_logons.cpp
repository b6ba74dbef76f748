#include "graph/explicit_logons.hpp"

#include <fmt/format.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "core/text.hpp"
#include "graph/join_indexes.hpp"

namespace treeline::graph {

Expected<ExplicitLogonStats> write_explicit_logons(store::Db& db, JoinIndexes& indexes) {
  ExplicitLogonStats stats;
  if (auto s = db.exec("DELETE FROM explicit_logon_links"); !s) return s.error();
  auto any = any_event_with_id(db, "4648");
  if (!any) return any.error();
  if (!*any) return stats;
  auto pids = indexes.pids();
  if (!pids) return pids.error();
  auto sessions = indexes.sessions();
  if (!sessions) return sessions.error();
  int rc;

  auto ev = db.prepare(
      "SELECT x.event_pk, h.short_name, e.time, x.process_id, coalesce(x.process_name, ''), x.subject_logon_id "
      "FROM sec_explicit_logon x JOIN events e ON e.event_pk = x.event_pk JOIN hosts h ON h.host_id = e.host_id "
      "ORDER BY x.event_pk");
  if (!ev) return ev.error();
  auto ins = db.prepare(
      "INSERT INTO explicit_logon_links (event_pk, process_key, session_key, link_method, link_confidence, why_not) "
      "VALUES (?, ?, ?, ?, ?, ?)");
  if (!ins) return ins.error();
  while ((rc = ev->step()) == SQLITE_ROW) {
    const std::string host = ev->column_text(1);
    const int64_t time = ev->column_int(2);
    const std::string name = ev->column_text(4);
    const bool named = !name.empty() && name != "-";
    std::string method = "none", why, process, session;
    double confidence = 0;
    if (!ev->column_is_null(3) && ev->column_int(3) > 0) {
      const PidIndex::Process* p = (*pids)->at(host, ev->column_int(3), time);
      if (!p) {
        why = "no logged process held that PID then";
      } else if (named && to_lower_ascii(p->image) != to_lower_ascii(name)) {
        // Another image held the PID: a wrong link is worse than none.
        why = fmt::format("the process that held that PID then was {}", base_name(p->image));
      } else {
        process = p->key;
        session = p->session;
        method = named ? "pid_time_name" : "pid_time";
        confidence = named ? 1.0 : 0.8;
      }
    } else {
      why = "the event names no process";
    }
    if (process.empty() && !ev->column_is_null(5)) {
      session = (*sessions)->at(host, ev->column_int(5), time);
      if (!session.empty()) {
        method = "logon_id";
        confidence = 0.9;
      }
    }
    ins->reset();
    ins->bind(1, ev->column_int(0));
    ins->bind_text_or_null(2, process);
    ins->bind_text_or_null(3, session);
    ins->bind(4, std::string_view(method));
    if (method != "none") ins->bind_double(5, confidence); else ins->bind_null(5);
    ins->bind_text_or_null(6, why);
    if (ins->step() != SQLITE_DONE) return db.error("writing a 4648's links");
    ++stats.events;
    if (!process.empty()) ++stats.linked;
  }
  if (rc != SQLITE_DONE) return db.error("reading the 4648s");
  return stats;
}

}  // namespace treeline::graph
