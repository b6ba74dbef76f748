#pragma once
// Opening a case database: schema/NNNN_*.sql are applied in order, each in its own transaction,
// and PRAGMA user_version records the last one applied. application_id marks the file as ours.
#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite.hpp"

namespace treeline::store {

inline constexpr int32_t kApplicationId = 0x54524c4e;  // "TRLN"

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// The embedded migrations, ordered by number. Numbers must run 1, 2, 3... without gaps.
const std::vector<Migration>& migrations();
int latest_schema_version();

// Creates the case if needed and brings it to the latest schema.
Expected<Db> open_case_for_write(const std::string& path);

// Secondary indexes of the events table, which a large load drops and builds once at the end:
// one sort beats a million B-tree inserts. open_case_for_write re-creates any that an
// interrupted load left missing.
Status drop_bulk_indexes(Db& db);
Status create_bulk_indexes(Db& db);

// Opens an existing case so that nothing can change it (SQLITE_OPEN_READONLY).
Expected<Db> open_case_read_only(const std::string& path);

}  // namespace treeline::store
