#pragma once
// Writes one source at a time into the case, inside one transaction, so that a source is either
// fully in the case or not at all.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/event_catalog.hpp"
#include "store/sqlite.hpp"

namespace treeline::store {

struct SourceInfo {
  std::string path;
  int64_t size = 0;
  std::string sha256;  // empty: not known yet; begin_source stores a placeholder, set_sha256 the value
  std::string format = "evtx";
  std::string reader;
  std::optional<std::string> container;
  std::optional<std::string> member;
};

struct SourceTotals {
  int64_t read = 0;
  int64_t added = 0;
  int64_t duplicate = 0;
  int64_t recovered = 0;
  int64_t skipped = 0;
};

class CaseWriter {
 public:
  // Rows per multi-row INSERT: one statement per batch costs much less than one per row.
  static constexpr size_t kBatch = 64;

  explicit CaseWriter(Db& db) : db_(db) {}

  // The source already in the case with this content, if any, and whether it completed.
  struct KnownSource {
    int64_t source_id;
    std::string path;
    std::string status;
    bool has_events = false;
  };
  Expected<std::optional<KnownSource>> find_source(const std::string& sha256);
  // Records that `info`'s path holds the bytes of `source_id` (read, or skipped as the same
  // bytes): once per path and source.
  Status add_path(int64_t source_id, const SourceInfo& info, std::string_view how);
  // Whether any source has this many bytes: a file of a size no source has cannot be one the
  // case holds, so its hash can be computed while it is read instead of before.
  Expected<bool> has_source_of_size(int64_t size);
  // Inside the source's transaction: the content hash, once it is known.
  Status set_sha256(const std::string& sha256, std::optional<int64_t> size = std::nullopt);

  Status begin_source(const SourceInfo& info);
  // Queues the record (its fields are copied: the record stays the caller's). Records are written
  // in batches, all of them by flush() or commit_source(); whether each was new or already in the
  // case is known then, in counts(). A database error may surface on a later call.
  Status add(const EventRecord& record, int* bad_numbers = nullptr);
  // Writes every queued row.
  Status flush();
  // The current source's records written so far: new, and already in the case.
  struct Counts {
    int64_t added = 0;
    int64_t duplicate = 0;
  };
  const Counts& counts() const { return counts_; }
  Status add_issue(const std::string& location, const char* severity, const std::string& reason);
  // Flushes, and stores `totals` with its added and duplicate counts taken from counts().
  Status commit_source(SourceTotals totals, bool complete);
  void rollback_source();

 private:
  Expected<int64_t> intern(Stmt& select, Stmt& insert, std::unordered_map<std::string, int64_t>& cache,
                           const std::string& key, const std::string* extra, const char* what);
  Expected<int64_t> host_id(const std::string& computer);
  // One queued event: its events row, data and typed row, owned (the slots' buffers are reused).
  struct PendingEvent {
    int64_t record_id = 0, file_record = 0, time = 0, source_line = 0;  // 0: NULL for the two optional
    int64_t host = 0, channel = 0;
    std::optional<int64_t> provider, execution_pid;
    uint32_t event_id = 0;
    int version = -1;
    bool recovered = false;
    bool has_data = false;
    std::string data;
    const EventSpec* spec = nullptr;  // set when the event has a typed table
    std::vector<TypedValue> typed;
  };
  // The typed rows of one table waiting for a batch, with their events' keys.
  struct PendingTyped {
    Stmt one, batch;
    std::vector<std::pair<int64_t, std::vector<TypedValue>>> rows;
    size_t count = 0;
  };
  // `count` rows (kBatch, or the rest) through `batch` or row by row through `one`, each prepared
  // from `sql(rows)` when first needed; `bind_row(statement, row in it, slot)`.
  Status write_rows(Stmt& batch, Stmt& one, size_t count, const std::function<std::string(size_t)>& sql,
                    const std::function<void(Stmt&, size_t, size_t)>& bind_row, std::string_view what);
  Status write_events();  // the queued events, then their data and typed rows as batches fill
  Status reconcile(size_t n, int64_t before, std::vector<int64_t>& pks);
  Status promote_live(const PendingEvent& e);
  void insert_event_row(Stmt& st, int first_param, const PendingEvent& e);
  Status queue_typed(const EventSpec& spec, int64_t event_pk, std::vector<TypedValue>& values);
  Status flush_typed(PendingTyped& t, const EventSpec& spec);
  // Writes the data rows held back; before the source commits, and when a batch is full.
  Status flush_data();

  Db& db_;
  std::optional<Transaction> tx_;  // the current source's; rolled back if it is never committed
  int64_t source_id_ = 0;
  int64_t last_pk_ = 0;  // the case's largest event_pk: a batch's new rows follow it
  Counts counts_;
  Stmt insert_event_;        // one row
  Stmt insert_event_batch_;  // kBatch rows
  Stmt select_new_events_;   // the rows a batch added, when some of it was already in the case
  std::vector<PendingEvent> pending_events_;
  size_t pending_event_count_ = 0;
  std::vector<int64_t> batch_pks_;  // per queued event: its event_pk, 0 when already in the case
  Stmt insert_data_;        // one row
  Stmt insert_data_batch_;  // kBatch rows
  std::vector<std::pair<int64_t, std::string>> pending_data_;  // (event_pk, data), in pk order
  size_t pending_count_ = 0;  // slots of pending_data_ in use; the rest keep their buffers
  int batches_since_writeback_ = 0;
  Stmt promote_live_;  // a live record of an event first stored from a carved copy
  SourceInfo info_;  // of the source being written
  Stmt select_host_, insert_host_, select_channel_, insert_channel_, select_provider_, insert_provider_;
  Stmt insert_issue_;
  Stmt find_same_;
  bool cross_format_ = false;
  struct Last {
    std::string computer, channel, provider;
    std::optional<int64_t> host, channel_id, provider_id;
  } last_;
  std::unordered_map<std::string, int64_t> hosts_, channels_, providers_;
  std::map<const EventSpec*, PendingTyped> typed_;
};

}  // namespace treeline::store
