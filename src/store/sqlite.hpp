#pragma once
// RAII owners of sqlite3 handles. Failures come back as Error values naming the database.
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/event_catalog.hpp"
#include "core/expected.hpp"

namespace treeline::store {

class Stmt {
 public:
  Stmt() = default;
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  Stmt(Stmt&& o) noexcept : s_(std::exchange(o.s_, nullptr)), bind_rc_(o.bind_rc_) {}
  Stmt& operator=(Stmt&& o) noexcept {
    if (this != &o) {
      sqlite3_finalize(s_);
      s_ = std::exchange(o.s_, nullptr);
      bind_rc_ = o.bind_rc_;
    }
    return *this;
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(s_); }

  sqlite3_stmt* get() const { return s_; }
  explicit operator bool() const { return s_ != nullptr; }

  // A failed bind (an index out of range, text over SQLite's limit) is remembered, and the next
  // step() returns its code instead of running the statement with a value missing.
  void bind_null(int i) { note(sqlite3_bind_null(s_, i)); }
  void bind(int i, int64_t v) { note(sqlite3_bind_int64(s_, i, v)); }
  void bind_double(int i, double v) { note(sqlite3_bind_double(s_, i, v)); }
  // The case's "not given": empty text and an absent number are NULL.
  void bind_text_or_null(int i, std::string_view v) {
    if (v.empty()) bind_null(i);
    else bind(i, v);
  }
  void bind_or_null(int i, const std::optional<int64_t>& v) {
    if (v) bind(i, *v);
    else bind_null(i);
  }
  void bind(int i, std::string_view v) {
    note(sqlite3_bind_text64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void bind(int i, const TypedValue& v);
  // Text that outlives the next step() (the caller's record): SQLite need not copy it.
  void bind_static(int i, std::string_view v) {
    note(sqlite3_bind_text64(s_, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8));
  }
  void bind_static(int i, const TypedValue& v) {
    if (auto* t = std::get_if<std::string>(&v)) bind_static(i, std::string_view(*t));
    else bind(i, v);
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return bind_rc_ != SQLITE_OK ? bind_rc_ : sqlite3_step(s_); }
  void reset() {
    bind_rc_ = SQLITE_OK;
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  int64_t column_int(int i) const { return sqlite3_column_int64(s_, i); }
  double column_double(int i) const { return sqlite3_column_double(s_, i); }
  std::string column_text(int i) const {
    auto p = sqlite3_column_text(s_, i);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s_, i)) : std::string();
  }
  bool column_is_null(int i) const { return sqlite3_column_type(s_, i) == SQLITE_NULL; }

 private:
  void note(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }
  sqlite3_stmt* s_ = nullptr;
  int bind_rc_ = SQLITE_OK;
};

class Db {
 public:
  Db() = default;
  Db(Db&& o) noexcept
      : db_(std::exchange(o.db_, nullptr)), path_(std::move(o.path_)), writeback_fd_(o.writeback_fd_) {}
  Db& operator=(Db&& o) noexcept {
    if (this != &o) {
      sqlite3_close_v2(db_);
      db_ = std::exchange(o.db_, nullptr);
      path_ = std::move(o.path_);
      writeback_fd_ = o.writeback_fd_;
    }
    return *this;
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() { sqlite3_close_v2(db_); }

  enum class Mode { kReadOnly, kReadWrite, kCreate };
  static Expected<Db> open(const std::string& path, Mode mode);

  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }

  Status exec(std::string_view sql);
  Expected<Stmt> prepare(std::string_view sql);
  // Prepares `st` the first time it is needed; a statement already prepared is left as it is.
  Status prepare_once(Stmt& st, std::string_view sql);
  Expected<int64_t> query_int(std::string_view sql);
  // An Error for the current sqlite error state, classified (locked / read-only / other).
  Error error(std::string_view doing) const;
  // Asks the kernel to start writing the database file's dirty pages now, without waiting, so
  // that the commit of a large load finds most of them on disk already. A hint: where the
  // platform has no such call, or SQLite's descriptor is not found, it does nothing.
  void start_writeback();

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  int writeback_fd_ = -2;  // SQLite's descriptor of the main file; -2 not looked for, -1 not found
};

// The one way a transaction is opened: BEGIN IMMEDIATE (the write lock is taken now, so a locked
// case fails here, clearly), optionally with foreign-key enforcement off for its duration (a
// bulk writer whose ids all come from rows it just wrote), and rolled back by the destructor
// unless commit() succeeded, whatever path leaves the scope.
class Transaction {
 public:
  struct Options {
    bool foreign_keys_off = false;
  };
  static Expected<Transaction> begin(Db& db, Options options, std::string_view doing);
  static Expected<Transaction> begin(Db& db, std::string_view doing) { return begin(db, Options{}, doing); }
  Transaction(Transaction&& o) noexcept
      : db_(std::exchange(o.db_, nullptr)), options_(o.options_), doing_(std::move(o.doing_)) {}
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() { rollback(); }

  Status commit();
  void rollback();
  bool active() const { return db_ != nullptr; }

 private:
  Transaction(Db& db, Options options, std::string_view doing) : db_(&db), options_(options), doing_(doing) {}
  void restore();
  Db* db_;
  Options options_;
  std::string doing_;
};

}  // namespace treeline::store
