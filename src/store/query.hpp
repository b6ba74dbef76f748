#pragma once
#include <string_view>
#include <vector>

#include "core/table.hpp"
#include "store/sqlite.hpp"

namespace treeline::store {

// Runs one SQL statement and collects its rows. Several statements are refused: a query is one
// question, and refusing keeps a stray "; DROP ..." from reaching even a read-only case.
// One column of the current row as a Cell (a BLOB as hex text).
Cell column_cell(Stmt& st, int i);

Expected<Table> run_query(Db& db, std::string_view sql, const std::vector<Cell>& params = {});

}  // namespace treeline::store
