#include "store/case_db.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>
#include <charconv>
#include <filesystem>

namespace treeline::schema_files {
const std::vector<std::pair<std::string_view, std::string_view>>& embedded_files();
}

namespace treeline::store {
namespace {

std::vector<Migration> load_migrations() {
  std::vector<Migration> out;
  for (const auto& [name, sql] : schema_files::embedded_files()) {
    int number = 0;
    auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), number);
    // A schema file that does not start with its number is a build mistake, not user input.
    if (ec != std::errc() || p == name.data() || *p != '_') continue;
    out.push_back({number, name, sql});
  }
  std::sort(out.begin(), out.end(), [](const Migration& a, const Migration& b) { return a.version < b.version; });
  return out;
}

Status check_identity(Db& db, bool allow_empty) {
  auto app = db.query_int("PRAGMA application_id");
  if (!app) return app.error();
  auto ver = db.query_int("PRAGMA user_version");
  if (!ver) return ver.error();
  if (*app == 0) {
    auto tables = db.query_int("SELECT count(*) FROM sqlite_master");
    if (!tables) return tables.error();
    if (*tables == 0 && allow_empty) return ok_status();
    if (*tables == 0)
      return Error{ErrorCode::kSchema, fmt::format("{}: empty database, not a treeline case (run `treeline ingest` to make one)", db.path())};
    return Error{ErrorCode::kSchema,
                 fmt::format("{}: not a treeline case database (it has tables of another application)", db.path())};
  }
  if (*app != kApplicationId)
    return Error{ErrorCode::kSchema,
                 fmt::format("{}: not a treeline case database (application_id 0x{:08x})", db.path(), *app)};
  if (*ver > latest_schema_version())
    return Error{ErrorCode::kSchema,
                 fmt::format("{}: made by a newer treeline (schema {}; this build knows up to {}). "
                             "Use a newer treeline.", db.path(), *ver, latest_schema_version())};
  return ok_status();
}

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> m = load_migrations();
  return m;
}

int latest_schema_version() { return migrations().empty() ? 0 : migrations().back().version; }

Expected<Db> open_case_for_write(const std::string& path) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent, ec))
    return Error{ErrorCode::kIo, fmt::format("{}: folder {} does not exist", path, parent.string())};
  if (std::filesystem::is_directory(path, ec))
    return Error{ErrorCode::kIo, fmt::format("{}: is a directory, not a case database", path)};
  auto db = Db::open(path, Db::Mode::kCreate);
  if (!db) return db.error();
  if (sqlite3_db_readonly(db->get(), "main") == 1)
    return Error{ErrorCode::kReadOnly, fmt::format("{}: case database is read-only; treeline cannot write to it", path)};
  if (auto s = check_identity(*db, true); !s) return s.error();
  auto ver = db->query_int("PRAGMA user_version");
  if (!ver) return ver.error();
  if (auto s = db->exec("PRAGMA foreign_keys = ON"); !s) return s.error();
  // A new case: 16 KiB pages make bulk loads about 7% faster than SQLite's 4 KiB default
  // (bench/ingest_bench.py), with fewer, fuller B-tree levels for the analysts' scans.
  if (*ver == 0)
    if (auto s = db->exec("PRAGMA page_size = 16384"); !s) return s.error();
  // Bulk loads: a 64 MiB page cache keeps the index B-trees in memory; NORMAL still syncs at
  // every commit, which is all a one-transaction-per-file writer needs. Temporary data (the sorts
  // that build indexes after a bulk load) stays in files: in memory it grew with the input
  // (363 MB peak for a 3.3 GB log, 153 MB with files, and faster).
  if (auto s = db->exec("PRAGMA cache_size = -65536; PRAGMA synchronous = NORMAL; PRAGMA threads = 2"); !s)
    return s.error();
  for (const Migration& m : migrations()) {
    if (m.version <= *ver) continue;
    // Foreign keys are off while a schema file runs, so that it can rebuild a table others point
    // to (SQLite's table-change procedure), and checked before it commits.
    auto tx = Transaction::begin(*db, {.foreign_keys_off = true}, "the schema upgrade");
    if (!tx) return tx.error();
    std::string sql = fmt::format("{}\nPRAGMA application_id = {};\nPRAGMA user_version = {};\n",
                                  m.sql, kApplicationId, m.version);
    if (auto s = db->exec(sql); !s) return db->error(fmt::format("applying schema {}", m.name));
    auto broken = db->query_int("SELECT count(*) FROM pragma_foreign_key_check");
    if (!broken) return broken.error();
    if (*broken > 0)
      return Error{ErrorCode::kSchema, fmt::format("{}: schema {} would leave {} rows pointing at nothing; "
                                                   "the case is left as it was", path, m.name, *broken)};
    if (auto s = tx->commit(); !s) return s.error();
  }
  if (auto s = create_bulk_indexes(*db); !s) return db->error("restoring indexes");
  return db;
}

namespace {
// The secondary indexes a large load builds once at the end, by sorting, instead of row by row on
// the single writer thread, which is what bounds ingest; a test checks they agree with the schema.
// The typed tables' keys (PIDs, logon ids) land anywhere in their B-trees. The two time indexes of
// events are not here: a log's records come in time order, so their keys land at the end of their
// range, on pages already in the cache, and keeping them costs the load less than sorting them
// after it, when only one core works (bench/data_bench.sh).
constexpr std::pair<const char*, const char*> kBulkIndexes[] = {
    {"sec_process_create_by_pid", "sec_process_create (new_process_id)"},
    {"sec_process_exit_by_pid", "sec_process_exit (process_id)"},
    {"sec_logon_by_logon_id", "sec_logon (target_logon_id)"},
    {"sec_logoff_by_logon_id", "sec_logoff (target_logon_id)"},
    {"sec_special_logon_by_logon_id", "sec_special_logon (subject_logon_id)"},
    {"sysmon_process_by_guid", "sysmon_process (process_guid)"},
    {"events_by_event_id", "events (event_id, channel_id)"},
};
}  // namespace

Status drop_bulk_indexes(Db& db) {
  std::string sql;
  for (const auto& [name, on] : kBulkIndexes) sql += fmt::format("DROP INDEX IF EXISTS {};", name);
  return db.exec(sql);
}

Status create_bulk_indexes(Db& db) {
  std::string sql;
  for (const auto& [name, on] : kBulkIndexes) sql += fmt::format("CREATE INDEX IF NOT EXISTS {} ON {};", name, on);
  return db.exec(sql);
}

Expected<Db> open_case_read_only(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return Error{ErrorCode::kIo, fmt::format("{}: no such case database", path)};
  auto db = Db::open(path, Db::Mode::kReadOnly);
  if (!db) return db.error();
  if (auto s = check_identity(*db, false); !s) return s.error();
  auto ver = db->query_int("PRAGMA user_version");
  if (!ver) return ver.error();
  if (*ver < latest_schema_version())
    return Error{ErrorCode::kSchema,
                 fmt::format("{}: case uses schema {}, this build expects {}; run `treeline ingest` "
                             "on it once to upgrade", path, *ver, latest_schema_version())};
  // The readers' joins revisit the same index pages (hosts, sessions, findings); SQLite's 2 MiB
  // default cache sends most of them back to the kernel.
  if (auto s = db->exec("PRAGMA cache_size = -65536"); !s) return s.error();
  return db;
}

}  // namespace treeline::store
