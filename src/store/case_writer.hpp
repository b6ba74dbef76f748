#pragma once
// Writes one source at a time into the case, inside one transaction, so that a source is either
// fully in the case or not at all.
#include <cstdint>
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

enum class AddResult { kAdded, kDuplicate };

class CaseWriter {
 public:
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
  // The record's data is written in batches: all of it by the time the source commits.
  Expected<AddResult> add(const EventRecord& record, int* bad_numbers = nullptr);
  Status add_issue(const std::string& location, const char* severity, const std::string& reason);
  Status commit_source(const SourceTotals& totals, bool complete);
  void rollback_source();

 private:
  Expected<int64_t> intern(Stmt& select, Stmt& insert, std::unordered_map<std::string, int64_t>& cache,
                           const std::string& key, const std::string* extra, const char* what);
  Expected<int64_t> host_id(const std::string& computer);
  Expected<Stmt*> typed_insert(const EventSpec& spec);
  // Writes the data rows held back; before the source commits, and when a batch is full.
  Status flush_data();

  Db& db_;
  std::optional<Transaction> tx_;  // the current source's; rolled back if it is never committed
  int64_t source_id_ = 0;
  Stmt insert_event_;
  Stmt insert_data_;        // one row
  Stmt insert_data_batch_;  // kDataBatch rows: one statement per batch costs less than one per row
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
  std::map<const EventSpec*, Stmt> typed_;
};

}  // namespace treeline::store
