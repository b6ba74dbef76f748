#include "store/case_writer.hpp"

#include <fmt/format.h>

#include <chrono>

#include "core/text.hpp"
#include "core/time.hpp"

namespace treeline::store {
namespace {

std::string now_iso() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  int64_t ticks = std::chrono::duration_cast<std::chrono::microseconds>(now).count() * 10;
  return filetime_to_iso(ticks + kFiletimeUnixEpochTicks);
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
  auto last = db_.query_int("SELECT coalesce(max(event_pk), 0) FROM events");
  if (!last) return last.error();
  last_pk_ = *last;
  counts_ = {};
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
  if (auto s = db_.prepare_once(select_host_, "SELECT host_id FROM hosts WHERE computer = ?"); !s) return s.error();
  if (auto s = db_.prepare_once(insert_host_, "INSERT INTO hosts (computer, short_name) VALUES (?, ?)"); !s)
    return s.error();
  std::string short_name = host_short_name(computer);
  return intern(select_host_, insert_host_, hosts_, computer, &short_name, "host");
}

Status CaseWriter::add(const EventRecord& r, int* bad_numbers) {
  if (auto s = db_.prepare_once(select_channel_, "SELECT channel_id FROM channels WHERE name = ?"); !s) return s;
  if (auto s = db_.prepare_once(insert_channel_, "INSERT INTO channels (name) VALUES (?)"); !s) return s;
  if (auto s = db_.prepare_once(select_provider_, "SELECT provider_id FROM providers WHERE name = ?"); !s) return s;
  if (auto s = db_.prepare_once(insert_provider_, "INSERT INTO providers (name) VALUES (?)"); !s) return s;

  // Records of one file share host, channel and provider: the last ones are remembered.
  if (r.computer != last_.computer || !last_.host) {
    auto host = host_id(r.computer);
    if (!host) return host.error();
    last_.computer = r.computer;
    last_.host = *host;
  }
  // Known channels keep their canonical spelling ("security" from a SIEM becomes "Security").
  std::string_view channel_name = r.spec ? std::string_view(r.spec->channel) : std::string_view(r.channel);
  if (channel_name != last_.channel || !last_.channel_id) {
    auto c = intern(select_channel_, insert_channel_, channels_, std::string(channel_name), nullptr, "channel");
    if (!c) return c.error();
    last_.channel = std::string(channel_name);
    last_.channel_id = *c;
  }
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
  // The check must see every earlier record, so this path writes each record before the next.
  if (cross_format_ && static_cast<int64_t>(r.record_id) >= 0) {
    if (auto s = flush(); !s) return s;
    if (auto s = db_.prepare_once(find_same_,
                              // The event_identity index (host, channel, record id, time) answers this.
                              "SELECT 1 FROM events e WHERE e.host_id IN (SELECT host_id FROM hosts WHERE short_name = ?5) "
                              "AND e.channel_id = ?1 AND e.record_id = ?2 AND e.time BETWEEN ?3 AND ?4 LIMIT 1");
        !s)
      return s;
    find_same_.reset();
    find_same_.bind(1, *last_.channel_id);
    find_same_.bind(2, static_cast<int64_t>(r.record_id));
    find_same_.bind(3, r.time - 10'000'000);
    find_same_.bind(4, r.time + 10'000'000);
    find_same_.bind(5, std::string_view(host_short_name(r.computer)));
    int rc = find_same_.step();
    find_same_.reset();
    if (rc == SQLITE_ROW) {
      ++counts_.duplicate;
      return ok_status();
    }
    if (rc != SQLITE_DONE) return db_.error("looking for the same event");
  }

  // Copied into a slot whose buffers are reused: the record, and its allocations, stay the
  // reader's, which frees them off this thread.
  if (pending_event_count_ == pending_events_.size()) pending_events_.emplace_back();
  PendingEvent& e = pending_events_[pending_event_count_++];
  e.record_id = static_cast<int64_t>(r.record_id);
  e.file_record = static_cast<int64_t>(r.file_record);
  e.time = r.time;
  e.source_line = r.source_line;
  e.execution_pid = r.execution_pid ? std::optional<int64_t>(*r.execution_pid) : std::nullopt;
  e.host = *last_.host;
  e.channel = *last_.channel_id;
  e.provider = provider;
  e.event_id = r.event_id;
  e.version = r.version;
  e.recovered = r.recovered;
  e.has_data = r.data.has_value();
  if (r.data) e.data.assign(*r.data);
  e.spec = nullptr;
  if (r.spec && !r.spec->table.empty()) {
    e.spec = r.spec;
    if (r.typed) {
      e.typed = r.typed->values;
      if (bad_numbers) *bad_numbers = r.typed->bad_numbers;
    } else {
      TypedRow row = type_fields(r);
      if (bad_numbers) *bad_numbers = row.bad_numbers;
      e.typed = std::move(row.values);
    }
  }
  if (pending_event_count_ == kBatch || cross_format_) return write_events();
  return ok_status();
}

Status CaseWriter::add_issue(const std::string& location, const char* severity, const std::string& reason) {
  if (auto s = db_.prepare_once(insert_issue_,
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

Status CaseWriter::commit_source(SourceTotals t, bool complete) {
  if (auto s = flush(); !s) return s;
  t.added = counts_.added;
  t.duplicate = counts_.duplicate;
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
  pending_event_count_ = 0;
  pending_count_ = 0;
  for (auto& [spec, t] : typed_) t.count = 0;
  counts_ = {};
  // Ids handed out inside the rolled-back transaction no longer exist.
  last_ = {};
  hosts_.clear();
  channels_.clear();
  providers_.clear();
}

}  // namespace treeline::store
