#include "store/sqlite.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <mutex>

namespace treeline::store {

void Stmt::bind(int i, const TypedValue& v) {
  if (auto* n = std::get_if<int64_t>(&v))
    bind(i, *n);
  else if (auto* s = std::get_if<std::string>(&v))
    bind(i, std::string_view(*s));
  else
    bind_null(i);
}

Expected<Db> Db::open(const std::string& path, Mode mode) {
  // Memory statistics take a global mutex on every SQLite allocation; treeline never reads them.
  // Only possible before SQLite initializes, which the first open does.
  static std::once_flag configured;
  std::call_once(configured, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  Db db;
  db.path_ = path;
  int flags = SQLITE_OPEN_NOMUTEX;
  switch (mode) {
    case Mode::kReadOnly: flags |= SQLITE_OPEN_READONLY; break;
    case Mode::kReadWrite: flags |= SQLITE_OPEN_READWRITE; break;
    case Mode::kCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE; break;
  }
  int rc = sqlite3_open_v2(path.c_str(), &db.db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db.db_ ? sqlite3_errmsg(db.db_) : sqlite3_errstr(rc);
    ErrorCode code = rc == SQLITE_CANTOPEN ? ErrorCode::kIo : ErrorCode::kDatabase;
    return Error{code, fmt::format("{}: cannot open case database: {}", path, msg)};
  }
  sqlite3_extended_result_codes(db.db_, 1);
  // Wait a little for another treeline to finish, then report the lock instead of hanging.
  sqlite3_busy_timeout(db.db_, 2000);
  return db;
}

Status Db::prepare_once(Stmt& st, std::string_view sql) {
  if (st) return ok_status();
  auto p = prepare(sql);
  if (!p) return p.error();
  st = std::move(p.value());
  return ok_status();
}

void Db::start_writeback() {
#ifdef __linux__
  if (writeback_fd_ == -2) {
    // SQLite keeps its descriptor to itself. It is found by the file's identity; opening a second
    // descriptor instead would be unsafe: closing it drops the process's POSIX locks on the file.
    writeback_fd_ = -1;
    const char* name = sqlite3_db_filename(db_, "main");
    struct stat want {};
    if (name == nullptr || *name == '\0' || ::stat(name, &want) != 0) return;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
      int fd = -1;
      try {
        fd = std::stoi(e.path().filename().string());
      } catch (const std::exception&) {
        continue;
      }
      struct stat got {};
      if (::fstat(fd, &got) == 0 && got.st_dev == want.st_dev && got.st_ino == want.st_ino) {
        writeback_fd_ = fd;
        break;
      }
    }
  }
  if (writeback_fd_ >= 0) (void)::sync_file_range(writeback_fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
}

Error Db::error(std::string_view doing) const {
  int rc = sqlite3_errcode(db_) & 0xff;
  std::string msg = sqlite3_errmsg(db_);
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
    return Error{ErrorCode::kLocked,
                 fmt::format("{}: case database is locked by another process ({})", path_, doing)};
  if (rc == SQLITE_READONLY)
    return Error{ErrorCode::kReadOnly,
                 fmt::format("{}: case database is read-only ({}: {})", path_, doing, msg)};
  if (rc == SQLITE_NOTADB)
    return Error{ErrorCode::kSchema, fmt::format("{}: not an SQLite database", path_)};
  return Error{ErrorCode::kDatabase, fmt::format("{}: {}: {}", path_, doing, msg)};
}

Status Db::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    sqlite3_free(err);
    return error("executing SQL");
  }
  return ok_status();
}

Expected<Stmt> Db::prepare(std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &s, nullptr) != SQLITE_OK)
    return error("preparing SQL");
  return Stmt(s);
}

Expected<int64_t> Db::query_int(std::string_view sql) {
  auto st = prepare(sql);
  if (!st) return st.error();
  int rc = st->step();
  if (rc == SQLITE_ROW) return st->column_int(0);
  if (rc == SQLITE_DONE) return int64_t{0};
  return error("querying");
}

Expected<Transaction> Transaction::begin(Db& db, Options options, std::string_view doing) {
  // PRAGMA foreign_keys is a no-op inside a transaction: it is set before BEGIN.
  if (options.foreign_keys_off)
    if (auto s = db.exec("PRAGMA foreign_keys = OFF"); !s) return db.error(fmt::format("starting {}", doing));
  if (auto s = db.exec("BEGIN IMMEDIATE"); !s) {
    Error e = db.error(fmt::format("starting {}", doing));
    if (options.foreign_keys_off) (void)db.exec("PRAGMA foreign_keys = ON");
    return e;
  }
  return Transaction(db, options, doing);
}

Status Transaction::commit() {
  if (!db_) return Error{ErrorCode::kInternal, fmt::format("committing {}: no transaction is open", doing_)};
  if (auto s = db_->exec("COMMIT"); !s) {
    Error e = db_->error(fmt::format("committing {}", doing_));
    rollback();
    return e;
  }
  restore();
  return ok_status();
}

void Transaction::rollback() {
  if (!db_) return;
  // Only fails when SQLite already rolled back (a full disk, an I/O error): nothing is left open.
  if (!sqlite3_get_autocommit(db_->get())) (void)db_->exec("ROLLBACK");
  restore();
}

void Transaction::restore() {
  if (db_ && options_.foreign_keys_off) (void)db_->exec("PRAGMA foreign_keys = ON");
  db_ = nullptr;
}

}  // namespace treeline::store
