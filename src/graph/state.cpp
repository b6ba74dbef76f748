#include "graph/state.hpp"

#include <fmt/format.h>

namespace treeline::graph {

Expected<GraphState> graph_state(store::Db& db) {
  auto st = db.prepare(
      "SELECT (SELECT coalesce(max(event_pk), 0) FROM events), (SELECT count(*) FROM events), "
      "g.events_max_pk, g.events_count FROM (SELECT 1) LEFT JOIN graph_state g ON g.id = 1");
  if (!st) return st.error();
  if (st->step() != SQLITE_ROW) return db.error("reading the graph state");
  GraphState s;
  s.events_now = st->column_int(1);
  if (st->column_is_null(2)) return s;  // never built
  s.events_in_graph = st->column_int(3);
  // Events are only ever added (a rolled-back source leaves no rows), so equal maximum key and
  // count mean the very same events.
  s.current = st->column_int(0) == st->column_int(2) && s.events_now == s.events_in_graph;
  return s;
}

Status require_current_graph(store::Db& db) {
  auto s = graph_state(db);
  if (!s) return s.error();
  if (s->current) return ok_status();
  return Error{ErrorCode::kStale,
               fmt::format("{}: the process graph is out of date: it was built from {} of the case's {} events "
                           "(an `ingest --no-graph`, or an ingest that was interrupted before the graph was rebuilt); "
                           "run `treeline ingest {} --rebuild-graph`",
                           db.path(), s->events_in_graph, s->events_now, db.path())};
}

Status record_graph_built(store::Db& db) {
  return db.exec(
      "INSERT INTO graph_state (id, events_max_pk, events_count, built_at) "
      "SELECT 1, coalesce(max(event_pk), 0), count(*), strftime('%Y-%m-%dT%H:%M:%SZ', 'now') FROM events "
      "WHERE true ON CONFLICT (id) DO UPDATE SET events_max_pk = excluded.events_max_pk, "
      "events_count = excluded.events_count, built_at = excluded.built_at");
}

}  // namespace treeline::graph
