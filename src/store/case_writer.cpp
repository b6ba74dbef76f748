#include "store/case_writer.hpp"

#include <fmt/format.h>

#include <chrono>

#include "core/text.hpp"
#include "core/time.hpp"

namespace treeline::store {
namespace {

constexpr size_t kDataBatch = 64;

std::string now_iso() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  int64_t ticks = std::chrono::duration_cast<std::chrono::microseconds>(now).count() * 10;
  return filetime_to_iso(ticks + kFiletimeUnixEpochTicks);
}

Status prepare_into(Db& db, Stmt& st, std::string_view sql) {
  if (st) return ok_status();
  auto p = db.prepare(sql);
  if (!p) return p.error();
  st = std::move(p.value());
  return ok_status();
}

}  // namespace

Expected<std::optional<CaseWriter::KnownSource>> CaseWriter::find_source(const std::string& sha256) {
  auto st = db_.prepare(
      "SELECT source_id, path, status, EXISTS (SELECT 1 FROM events e WHERE e.source_id = s.source_id) "
      "FROM sources s WHERE sha256 = ? ORDER BY status = 'complete' DESC LIMIT 1");
  if (!st) return st.error();
  st->bind(1, std::string_view(sha256));
  int rc = st->step();
  if (rc == SQLITE_ROW)
    return std::optional<KnownSource>(
        KnownSource{st->column_int(0), st->column_text(1), st->column_text(2), st->column_int(3) != 0});
  if (rc != SQLITE_DONE) return db_.error("looking up source");
  return std::optional<KnownSource>();
}

Status CaseWriter::add_path(int64_t source_id, const SourceInfo& info, std::string_view how) {
  auto st = db_.prepare(
      "INSERT INTO source_paths (source_id, path, container, member, size, seen_at, how) VALUES (?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (source_id, path, container, member) DO NOTHING");
  if (!st) return st.error();
  st->bind(1, source_id);
  st->bind(2, std::string_view(info.path));
  st->bind(3, std::string_view(info.container ? *info.container : std::string()));
  st->bind(4, std::string_view(info.member ? *info.member : std::string()));
  st->bind(5, info.size);
  st->bind(6, std::string_view(now_iso()));
  st->bind(7, how);
  if (st->step() != SQLITE_DONE) return db_.error(fmt::format("recording the path {}", info.path));
  return ok_status();
}

Expected<bool> CaseWriter::has_source_of_size(int64_t size) {
  auto st = db_.prepare("SELECT 1 FROM sources WHERE size = ? LIMIT 1");
  if (!st) return st.error();
  st->bind(1, size);
  int rc = st->step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_.error("looking up sources by size");
  return rc == SQLITE_ROW;
}

Status CaseWriter::set_sha256(const std::string& sha256, std::optional<int64_t> size) {
  // A partial source of these bytes from an interrupted run holds the hash: it is replaced.
  // Only one without events: a partial source with events is a cut file, and stays.
  auto del = db_.prepare("DELETE FROM sources WHERE sha256 = ? AND status = 'partial' AND source_id <> ? "
                         "AND NOT EXISTS (SELECT 1 FROM events e WHERE e.source_id = sources.source_id)");
  if (!del) return del.error();
  del->bind(1, std::string_view(sha256));
  del->bind(2, source_id_);
  if (del->step() != SQLITE_DONE) return db_.error("replacing a partial source");
  auto st = db_.prepare("UPDATE sources SET sha256 = ?, size = coalesce(?, size) WHERE source_id = ?");
  if (!st) return st.error();
  st->bind(1, std::string_view(sha256));
  if (size) st->bind(2, *size); else st->bind_null(2);
  st->bind(3, source_id_);
  if (st->step() != SQLITE_DONE) return db_.error("recording the source's hash");
  if (size) info_.size = *size;
  return ok_status();
}

Status CaseWriter::begin_source(const SourceInfo& info) {
  // Every id this writer stores comes from a row it just read or inserted in the same
  // transaction, so per-row foreign-key lookups (five B-tree seeks per event) prove nothing; the
  // tests run PRAGMA foreign_key_check on ingested cases instead. Must be set outside a transaction.
  auto tx = Transaction::begin(db_, {.foreign_keys_off = true}, fmt::format("the ingest of {}", info.path));
  if (!tx) return tx.error();
  tx_.emplace(std::move(*tx));
  info_ = info;
  // A partial source left by an interrupted older run is replaced, not duplicated: its events
  // were never committed, because each source is one transaction.
  auto del = db_.prepare("DELETE FROM sources WHERE sha256 = ? AND status = 'partial' "
                         "AND NOT EXISTS (SELECT 1 FROM events e WHERE e.source_id = sources.source_id)");
  if (!del) return del.error();
  del->bind(1, std::string_view(info.sha256));
  if (del->step() != SQLITE_DONE) return db_.error("replacing a partial source");
  auto st = db_.prepare(
      "INSERT INTO sources (path, size, sha256, format, container, member, reader, ingested_at, status) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'partial')");
  if (!st) return st.error();
  st->bind(1, std::string_view(info.path));
  st->bind(2, info.size);
  // Until set_sha256: a placeholder of the checked length that no hex digest can equal.
  std::string placeholder = info.sha256.empty() ? std::string(64, '-') : std::string();
  st->bind(3, std::string_view(info.sha256.empty() ? placeholder : info.sha256));
  st->bind(4, std::string_view(info.format));
  if (info.container) st->bind(5, std::string_view(*info.container)); else st->bind_null(5);
  if (info.member) st->bind(6, std::string_view(*info.member)); else st->bind_null(6);
  st->bind(7, std::string_view(info.reader));
  st->bind(8, std::string_view(now_iso()));
  if (st->step() != SQLITE_DONE) return db_.error("recording the source");
  source_id_ = sqlite3_last_insert_rowid(db_.get());
  // Exact duplicates are caught by the event_identity constraint; across formats the times
  // differ in precision, so a mixed case checks each record against what is there.
  auto formats = db_.prepare("SELECT count(DISTINCT format) FROM sources WHERE status = 'complete' OR source_id = ?");
  if (!formats) return formats.error();
  formats->bind(1, source_id_);
  if (formats->step() != SQLITE_ROW) return db_.error("reading source formats");
  cross_format_ = formats->column_int(0) > 1 || info.format != "evtx";
  return ok_status();
}

Expected<int64_t> CaseWriter::intern(Stmt& select, Stmt& insert,
                                     std::unordered_map<std::string, int64_t>& cache,
                                     const std::string& key, const std::string* extra, const char* what) {
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  select.reset();
  select.bind(1, std::string_view(key));
  int rc = select.step();
  int64_t id = 0;
  if (rc == SQLITE_ROW) {
    id = select.column_int(0);
  } else if (rc == SQLITE_DONE) {
    insert.reset();
    insert.bind(1, std::string_view(key));
    if (extra) insert.bind(2, std::string_view(*extra));
    if (insert.step() != SQLITE_DONE) return db_.error(fmt::format("recording {}", what));
    id = sqlite3_last_insert_rowid(db_.get());
  } else {
    return db_.error(fmt::format("looking up {}", what));
  }
  select.reset();
  cache.emplace(key, id);
  return id;
}

Expected<int64_t> CaseWriter::host_id(const std::string& computer) {
  if (auto s = prepare_into(db_, select_host_, "SELECT host_id FROM hosts WHERE computer = ?"); !s) return s.error();
  if (auto s = prepare_into(db_, insert_host_, "INSERT INTO hosts (computer, short_name) VALUES (?, ?)"); !s)
    return s.error();
  std::string short_name = host_short_name(computer);
  return intern(select_host_, insert_host_, hosts_, computer, &short_name, "host");
}

Expected<Stmt*> CaseWriter::typed_insert(const EventSpec& spec) {
  auto it = typed_.find(&spec);
  if (it != typed_.end()) return &it->second;
  std::string cols = "event_pk", params = "?";
  for (const auto& f : spec.fields) {
    cols += fmt::format(", {}", f.column);
    params += ", ?";
  }
  auto st = db_.prepare(fmt::format("INSERT INTO {} ({}) VALUES ({})", spec.table, cols, params));
  if (!st) return st.error();
  return &typed_.emplace(&spec, std::move(st.value())).first->second;
}

Status CaseWriter::flush_data() {
  if (pending_count_ == 0) return ok_status();
  static constexpr std::string_view kInsertData = "INSERT INTO event_data (event_pk, data) VALUES (?, ?)";
  auto bind_row = [&](Stmt& st, size_t row, size_t slot) {
    st.bind(static_cast<int>(2 * row + 1), pending_data_[slot].first);
    st.bind_static(static_cast<int>(2 * row + 2), std::string_view(pending_data_[slot].second));
  };
  // add() flushes each batch as it fills, so a flush holds either a whole batch or the rest.
  if (pending_count_ == kDataBatch) {
    if (!insert_data_batch_) {
      std::string sql(kInsertData);
      for (size_t i = 1; i < kDataBatch; ++i) sql += ", (?, ?)";
      if (auto s = prepare_into(db_, insert_data_batch_, sql); !s) return s;
    }
    insert_data_batch_.reset();
    for (size_t i = 0; i < kDataBatch; ++i) bind_row(insert_data_batch_, i, i);
    if (insert_data_batch_.step() != SQLITE_DONE) return db_.error("inserting events' data");
  } else {
    if (auto s = prepare_into(db_, insert_data_, kInsertData); !s) return s;
    for (size_t i = 0; i < pending_count_; ++i) {
      insert_data_.reset();
      bind_row(insert_data_, 0, i);
      if (insert_data_.step() != SQLITE_DONE) return db_.error("inserting an event's data");
    }
  }
  // A rare huge value (a JSON export's field) does not keep its buffer for the rest of the load.
  for (size_t i = 0; i < pending_count_; ++i)
    if (pending_data_[i].second.capacity() > (size_t{1} << 16)) std::string().swap(pending_data_[i].second);
  pending_count_ = 0;
  if (++batches_since_writeback_ == 1024) {
    batches_since_writeback_ = 0;
    db_.start_writeback();
  }
  return ok_status();
}

Expected<AddResult> CaseWriter::add(const EventRecord& r, int* bad_numbers) {
  if (auto s = prepare_into(db_, select_channel_, "SELECT channel_id FROM channels WHERE name = ?"); !s) return s.error();
  if (auto s = prepare_into(db_, insert_channel_, "INSERT INTO channels (name) VALUES (?)"); !s) return s.error();
  if (auto s = prepare_into(db_, select_provider_, "SELECT provider_id FROM providers WHERE name = ?"); !s) return s.error();
  if (auto s = prepare_into(db_, insert_provider_, "INSERT INTO providers (name) VALUES (?)"); !s) return s.error();
  if (auto s = prepare_into(db_, insert_event_,
                            // Only the record-identity conflict is a duplicate; any other constraint fails loudly.
                            "INSERT INTO events (source_id, record_id, recovered, host_id, channel_id, "
                            "provider_id, event_id, version, time, file_record, source_line) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                            "ON CONFLICT (host_id, channel_id, record_id, time) DO NOTHING");
      !s)
    return s.error();

  // Records of one file share host, channel and provider: the last ones are remembered.
  if (r.computer != last_.computer || !last_.host) {
    auto host = host_id(r.computer);
    if (!host) return host.error();
    last_.computer = r.computer;
    last_.host = *host;
  }
  const int64_t* host = &*last_.host;
  // Known channels keep their canonical spelling ("security" from a SIEM becomes "Security").
  std::string_view channel_name = r.spec ? r.spec->channel : std::string_view(r.channel);
  if (channel_name != last_.channel || !last_.channel_id) {
    auto c = intern(select_channel_, insert_channel_, channels_, std::string(channel_name), nullptr, "channel");
    if (!c) return c.error();
    last_.channel = std::string(channel_name);
    last_.channel_id = *c;
  }
  const int64_t* channel = &*last_.channel_id;
  std::optional<int64_t> provider;
  if (!r.provider.empty()) {
    if (r.provider != last_.provider || !last_.provider_id) {
      auto p = intern(select_provider_, insert_provider_, providers_, r.provider, nullptr, "provider");
      if (!p) return p.error();
      last_.provider = r.provider;
      last_.provider_id = *p;
    }
    provider = last_.provider_id;
  }

  // The same event may already be in the case from another format (an EVTX and its SIEM export):
  // same host (short name), channel and EventRecordID, within a second (exports round the time).
  if (cross_format_ && static_cast<int64_t>(r.record_id) >= 0) {
    if (auto s = prepare_into(db_, find_same_,
                              // The event_identity index (host, channel, record id, time) answers this.
                              "SELECT 1 FROM events e WHERE e.host_id IN (SELECT host_id FROM hosts WHERE short_name = ?5) "
                              "AND e.channel_id = ?1 AND e.record_id = ?2 AND e.time BETWEEN ?3 AND ?4 LIMIT 1");
        !s)
      return s.error();
    find_same_.reset();
    find_same_.bind(1, *channel);
    find_same_.bind(2, static_cast<int64_t>(r.record_id));
    find_same_.bind(3, r.time - 10'000'000);
    find_same_.bind(4, r.time + 10'000'000);
    find_same_.bind(5, std::string_view(host_short_name(r.computer)));
    int rc = find_same_.step();
    find_same_.reset();
    if (rc == SQLITE_ROW) return AddResult::kDuplicate;
    if (rc != SQLITE_DONE) return db_.error("looking for the same event");
  }

  Stmt& ev = insert_event_;
  ev.reset();
  ev.bind(1, source_id_);
  ev.bind(2, static_cast<int64_t>(r.record_id));
  ev.bind(3, int64_t{r.recovered ? 1 : 0});
  ev.bind(4, *host);
  ev.bind(5, *channel);
  if (provider) ev.bind(6, *provider); else ev.bind_null(6);
  ev.bind(7, int64_t{r.event_id});
  if (r.version >= 0) ev.bind(8, int64_t{r.version}); else ev.bind_null(8);
  ev.bind(9, r.time);
  if (r.file_record != 0) ev.bind(10, static_cast<int64_t>(r.file_record)); else ev.bind_null(10);
  if (r.source_line != 0) ev.bind(11, r.source_line); else ev.bind_null(11);
  if (ev.step() != SQLITE_DONE) return db_.error("inserting an event");
  if (sqlite3_changes(db_.get()) == 0) {
    // The event is in the case already. When that row came from a carved copy (an old record in
    // another file's free space) and this record is live, the event is this source's: the
    // provenance moves to the live record, its data and typed row are the same.
    if (!r.recovered) {
      if (auto s = prepare_into(db_, promote_live_,
                                "UPDATE events SET source_id = ?1, recovered = 0, file_record = ?2, source_line = ?3 "
                                "WHERE host_id = ?4 AND channel_id = ?5 AND record_id = ?6 AND time = ?7 AND recovered = 1");
          !s)
        return s.error();
      Stmt& up = promote_live_;
      up.reset();
      up.bind(1, source_id_);
      if (r.file_record != 0) up.bind(2, static_cast<int64_t>(r.file_record)); else up.bind_null(2);
      if (r.source_line != 0) up.bind(3, r.source_line); else up.bind_null(3);
      up.bind(4, *host);
      up.bind(5, *channel);
      up.bind(6, static_cast<int64_t>(r.record_id));
      up.bind(7, r.time);
      if (up.step() != SQLITE_DONE) return db_.error("moving an event to its live record");
    }
    return AddResult::kDuplicate;
  }
  int64_t event_pk = sqlite3_last_insert_rowid(db_.get());
  if (r.data) {
    // Copied into a slot whose buffer is reused: the record, and its allocation, stay the
    // reader's, which frees them off this thread.
    if (pending_count_ == pending_data_.size()) pending_data_.emplace_back();
    pending_data_[pending_count_].first = event_pk;
    pending_data_[pending_count_].second.assign(*r.data);
    if (++pending_count_ == kDataBatch)
      if (auto s = flush_data(); !s) return s.error();
  }

  if (r.spec && !r.spec->table.empty()) {
    auto st = typed_insert(*r.spec);
    if (!st) return st.error();
    TypedRow computed;
    const TypedRow& row = r.typed ? *r.typed : (computed = type_fields(r));
    if (bad_numbers) *bad_numbers = row.bad_numbers;
    Stmt& t = **st;
    t.reset();
    t.bind(1, event_pk);
    for (size_t i = 0; i < row.values.size(); ++i) t.bind_static(static_cast<int>(i) + 2, row.values[i]);
    if (t.step() != SQLITE_DONE) return db_.error(fmt::format("inserting into {}", r.spec->table));
  }
  return AddResult::kAdded;
}

Status CaseWriter::add_issue(const std::string& location, const char* severity, const std::string& reason) {
  if (auto s = prepare_into(db_, insert_issue_,
                            "INSERT INTO ingest_issues (source_id, location, severity, reason) VALUES (?, ?, ?, ?)");
      !s)
    return s;
  insert_issue_.reset();
  insert_issue_.bind(1, source_id_);
  insert_issue_.bind(2, std::string_view(location));
  insert_issue_.bind(3, std::string_view(severity));
  insert_issue_.bind(4, std::string_view(reason));
  if (insert_issue_.step() != SQLITE_DONE) return db_.error("recording an ingest issue");
  return ok_status();
}

Status CaseWriter::commit_source(const SourceTotals& t, bool complete) {
  if (auto s = flush_data(); !s) return s;
  auto st = db_.prepare(
      "UPDATE sources SET records_read = ?, records_new = ?, records_duplicate = ?, records_recovered = ?, "
      "records_skipped = ?, status = ? WHERE source_id = ?");
  if (!st) return st.error();
  st->bind(1, t.read);
  st->bind(2, t.added);
  st->bind(3, t.duplicate);
  st->bind(4, t.recovered);
  st->bind(5, t.skipped);
  st->bind(6, std::string_view(complete ? "complete" : "partial"));
  st->bind(7, source_id_);
  if (st->step() != SQLITE_DONE) return db_.error("finishing the source");
  if (auto s = add_path(source_id_, info_, "read"); !s) return s;
  if (!tx_) return Error{ErrorCode::kInternal, "finishing a source that was not begun"};
  Status committed = tx_->commit();
  tx_.reset();
  return committed;
}

void CaseWriter::rollback_source() {
  tx_.reset();
  pending_count_ = 0;
  // Ids handed out inside the rolled-back transaction no longer exist.
  last_ = {};
  hosts_.clear();
  channels_.clear();
  providers_.clear();
}

}  // namespace treeline::store
