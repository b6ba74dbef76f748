// The row side of CaseWriter: queued events written kBatch to a statement, then their data and
// typed rows, each table in batches of its own. The single writer thread is what bounds ingest,
// and a multi-row INSERT costs it about half of what one statement per row does
// (bench/data_bench.sh).
#include <fmt/format.h>

#include <functional>

#include "store/case_writer.hpp"

namespace treeline::store {
namespace {

// Every INSERT here is OR FAIL. A statement that writes several rows and may abort halfway (the
// default for a failed CHECK or NOT NULL) makes SQLite keep a statement journal: a copy of every
// page the statement touches, several times the case's size in temporary writes over a load.
// FAIL stops at the bad row without undoing the statement's earlier rows, which is enough: any
// failure rolls the whole source back.
constexpr int kEventColumns = 12;
constexpr std::string_view kInsertEvent =
    "INSERT OR FAIL INTO events (source_id, record_id, recovered, host_id, channel_id, provider_id, event_id, version, "
    "time, file_record, source_line, execution_pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr std::string_view kEventRow = ", (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
// Only the record-identity conflict is a duplicate; any other constraint fails loudly.
constexpr std::string_view kEventConflict = " ON CONFLICT (host_id, channel_id, record_id, time) DO NOTHING";

// "INSERT INTO t (a, b) VALUES (?, ?)" followed by rows - 1 more "(?, ?)".
std::string multi_row_insert(std::string_view head, std::string_view more_row, size_t rows,
                             std::string_view tail = {}) {
  std::string sql(head);
  for (size_t i = 1; i < rows; ++i) sql += more_row;
  sql += tail;
  return sql;
}

}  // namespace

Status CaseWriter::write_rows(Stmt& batch, Stmt& one, size_t count, const std::function<std::string(size_t)>& sql,
                              const std::function<void(Stmt&, size_t, size_t)>& bind_row, std::string_view what) {
  // Callers write each batch as it fills, so `count` is either a whole batch or the rest.
  if (count == kBatch) {
    if (!batch)
      if (auto s = db_.prepare_once(batch, sql(kBatch)); !s) return s;
    batch.reset();
    for (size_t i = 0; i < kBatch; ++i) bind_row(batch, i, i);
    if (batch.step() != SQLITE_DONE) return db_.error(fmt::format("inserting {}", what));
    return ok_status();
  }
  if (!one)
    if (auto s = db_.prepare_once(one, sql(1)); !s) return s;
  for (size_t i = 0; i < count; ++i) {
    one.reset();
    bind_row(one, 0, i);
    if (one.step() != SQLITE_DONE) return db_.error(fmt::format("inserting {}", what));
  }
  return ok_status();
}

void CaseWriter::insert_event_row(Stmt& st, int first, const PendingEvent& e) {
  st.bind(first, source_id_);
  st.bind(first + 1, e.record_id);
  st.bind(first + 2, int64_t{e.recovered ? 1 : 0});
  st.bind(first + 3, e.host);
  st.bind(first + 4, e.channel);
  if (e.provider) st.bind(first + 5, *e.provider); else st.bind_null(first + 5);
  st.bind(first + 6, int64_t{e.event_id});
  if (e.version >= 0) st.bind(first + 7, int64_t{e.version}); else st.bind_null(first + 7);
  st.bind(first + 8, e.time);
  if (e.file_record != 0) st.bind(first + 9, e.file_record); else st.bind_null(first + 9);
  if (e.source_line != 0) st.bind(first + 10, e.source_line); else st.bind_null(first + 10);
  if (e.execution_pid) st.bind(first + 11, *e.execution_pid); else st.bind_null(first + 11);
}

Status CaseWriter::reconcile(size_t n, int64_t before, std::vector<int64_t>& pks) {
  // Some of the batch was in the case already. The rows it added follow `before`, in the batch's
  // order, each the first of the batch's records with its identity; the others are duplicates.
  if (auto s = db_.prepare_once(select_new_events_,
                                "SELECT event_pk, host_id, channel_id, record_id, time FROM events "
                                "WHERE event_pk > ? ORDER BY event_pk");
      !s)
    return s;
  Stmt& st = select_new_events_;
  st.reset();
  st.bind(1, before);
  size_t i = 0;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) {
    const int64_t host = st.column_int(1), channel = st.column_int(2), record = st.column_int(3),
                  time = st.column_int(4);
    while (i < n && !(pending_events_[i].host == host && pending_events_[i].channel == channel &&
                      pending_events_[i].record_id == record && pending_events_[i].time == time))
      ++i;
    if (i == n) {
      const int64_t pk = st.column_int(0);
      st.reset();
      return Error{ErrorCode::kInternal, fmt::format("{}: an event row written in this batch matches none of its "
                                                     "records (event_pk {})", db_.path(), pk)};
    }
    pks[i++] = st.column_int(0);
  }
  st.reset();
  if (rc != SQLITE_DONE) return db_.error("reading the rows a batch added");
  return ok_status();
}

Status CaseWriter::promote_live(const PendingEvent& e) {
  // The event is in the case already. When that row came from a carved copy (an old record in
  // another file's free space) and this record is live, the event is this source's: the
  // provenance moves to the live record, its data and typed row are the same.
  if (auto s = db_.prepare_once(promote_live_,
                                "UPDATE events SET source_id = ?1, recovered = 0, file_record = ?2, source_line = ?3 "
                                "WHERE host_id = ?4 AND channel_id = ?5 AND record_id = ?6 AND time = ?7 AND recovered = 1");
      !s)
    return s;
  Stmt& up = promote_live_;
  up.reset();
  up.bind(1, source_id_);
  if (e.file_record != 0) up.bind(2, e.file_record); else up.bind_null(2);
  if (e.source_line != 0) up.bind(3, e.source_line); else up.bind_null(3);
  up.bind(4, e.host);
  up.bind(5, e.channel);
  up.bind(6, e.record_id);
  up.bind(7, e.time);
  if (up.step() != SQLITE_DONE) return db_.error("moving an event to its live record");
  return ok_status();
}

Status CaseWriter::write_events() {
  const size_t n = pending_event_count_;
  if (n == 0) return ok_status();
  pending_event_count_ = 0;
  batch_pks_.assign(n, 0);
  const int64_t before = last_pk_;
  if (n == kBatch) {
    if (!insert_event_batch_)
      if (auto s = db_.prepare_once(insert_event_batch_, multi_row_insert(kInsertEvent, kEventRow, kBatch, kEventConflict));
          !s)
        return s;
    Stmt& st = insert_event_batch_;
    st.reset();
    for (size_t i = 0; i < n; ++i) insert_event_row(st, static_cast<int>(i) * kEventColumns + 1, pending_events_[i]);
    if (st.step() != SQLITE_DONE) return db_.error("inserting events");
    const auto added = static_cast<size_t>(sqlite3_changes(db_.get()));
    const int64_t last = sqlite3_last_insert_rowid(db_.get());
    if (added == n && last - before == static_cast<int64_t>(n)) {
      // All new: SQLite gave them the rowids after the largest, in order.
      for (size_t i = 0; i < n; ++i) batch_pks_[i] = before + 1 + static_cast<int64_t>(i);
    } else if (added > 0) {
      if (auto s = reconcile(n, before, batch_pks_); !s) return s;
    }
  } else {
    if (auto s = db_.prepare_once(insert_event_, std::string(kInsertEvent) + std::string(kEventConflict)); !s) return s;
    Stmt& st = insert_event_;
    for (size_t i = 0; i < n; ++i) {
      st.reset();
      insert_event_row(st, 1, pending_events_[i]);
      if (st.step() != SQLITE_DONE) return db_.error("inserting an event");
      if (sqlite3_changes(db_.get()) > 0) batch_pks_[i] = sqlite3_last_insert_rowid(db_.get());
    }
  }
  for (size_t i = 0; i < n; ++i) {
    PendingEvent& e = pending_events_[i];
    const int64_t pk = batch_pks_[i];
    if (pk == 0) {
      ++counts_.duplicate;
      if (!e.recovered)
        if (auto s = promote_live(e); !s) return s;
      continue;
    }
    ++counts_.added;
    last_pk_ = std::max(last_pk_, pk);
    if (e.has_data) {
      if (pending_count_ == pending_data_.size()) pending_data_.emplace_back();
      pending_data_[pending_count_].first = pk;
      pending_data_[pending_count_].second.swap(e.data);  // the slot's old buffer is this one's next
      if (++pending_count_ == kBatch)
        if (auto s = flush_data(); !s) return s;
    }
    if (e.spec)
      if (auto s = queue_typed(*e.spec, pk, e.typed); !s) return s;
  }
  return ok_status();
}

Status CaseWriter::queue_typed(const EventSpec& spec, int64_t event_pk, std::vector<TypedValue>& values) {
  PendingTyped& t = typed_[&spec];
  if (t.count == t.rows.size()) t.rows.emplace_back();
  t.rows[t.count].first = event_pk;
  t.rows[t.count].second.swap(values);
  if (++t.count == kBatch) return flush_typed(t, spec);
  return ok_status();
}

Status CaseWriter::flush_typed(PendingTyped& t, const EventSpec& spec) {
  if (t.count == 0) return ok_status();
  const size_t width = spec.fields.size() + 1;
  // The statement text is built only when a statement is prepared, once per table and size.
  auto sql = [&](size_t rows) {
    std::string cols = "event_pk", params = "?";
    for (const auto& f : spec.fields) {
      cols += fmt::format(", {}", f.column);
      params += ", ?";
    }
    return multi_row_insert(fmt::format("INSERT OR FAIL INTO {} ({}) VALUES ({})", spec.table, cols, params),
                            fmt::format(", ({})", params), rows);
  };
  auto bind_row = [&](Stmt& st, size_t row, size_t slot) {
    const int first = static_cast<int>(row * width) + 1;
    st.bind(first, t.rows[slot].first);
    const auto& values = t.rows[slot].second;
    for (size_t i = 0; i < values.size(); ++i) st.bind_static(first + 1 + static_cast<int>(i), values[i]);
  };
  if (auto s = write_rows(t.batch, t.one, t.count, sql, bind_row, fmt::format("into {}", spec.table)); !s) return s;
  t.count = 0;
  return ok_status();
}

Status CaseWriter::flush_data() {
  if (pending_count_ == 0) return ok_status();
  static constexpr std::string_view kInsertData = "INSERT OR FAIL INTO event_data (event_pk, data) VALUES (?, ?)";
  auto bind_row = [&](Stmt& st, size_t row, size_t slot) {
    st.bind(static_cast<int>(2 * row + 1), pending_data_[slot].first);
    st.bind_static(static_cast<int>(2 * row + 2), std::string_view(pending_data_[slot].second));
  };
  auto sql = [](size_t rows) { return multi_row_insert(kInsertData, ", (?, ?)", rows); };
  if (auto s = write_rows(insert_data_batch_, insert_data_, pending_count_, sql, bind_row, "events' data"); !s) return s;
  // A rare huge value (a JSON export's field) does not keep its buffer for the rest of the load.
  for (size_t i = 0; i < pending_count_; ++i)
    if (pending_data_[i].second.capacity() > (size_t{1} << 16)) std::string().swap(pending_data_[i].second);
  pending_count_ = 0;
  // Most of a large load's pages are on disk before its commit has to wait for them.
  if (++batches_since_writeback_ == 1024) {
    batches_since_writeback_ = 0;
    db_.start_writeback();
  }
  return ok_status();
}

Status CaseWriter::flush() {
  if (auto s = write_events(); !s) return s;
  if (auto s = flush_data(); !s) return s;
  for (auto& [spec, t] : typed_)
    if (auto s = flush_typed(t, *spec); !s) return s;
  return ok_status();
}

}  // namespace treeline::store
