#include "store/query.hpp"

#include <fmt/format.h>

namespace treeline::store {

Cell column_cell(Stmt& st, int i) {
  switch (sqlite3_column_type(st.get(), i)) {
    case SQLITE_INTEGER: return st.column_int(i);
    case SQLITE_FLOAT: return sqlite3_column_double(st.get(), i);
    case SQLITE_NULL: return Cell{};
    case SQLITE_BLOB: {
      auto* b = static_cast<const unsigned char*>(sqlite3_column_blob(st.get(), i));
      int len = sqlite3_column_bytes(st.get(), i);
      std::string hex;
      for (int k = 0; k < len; ++k) hex += fmt::format("{:02x}", b[k]);
      return hex;
    }
    default: return st.column_text(i);
  }
}

Expected<Table> run_query(Db& db, std::string_view sql, const std::vector<Cell>& params) {
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  if (sqlite3_prepare_v2(db.get(), sql.data(), static_cast<int>(sql.size()), &raw, &tail) != SQLITE_OK) {
    Error e = db.error("preparing the query");
    e.code = ErrorCode::kUsage;
    return e;
  }
  Stmt st(raw);
  for (const char* p = tail; p && p < sql.data() + sql.size(); ++p) {
    if (*p == ';' || *p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') continue;
    if (p[0] == '-' && p + 1 < sql.data() + sql.size() && p[1] == '-') {  // trailing comment line
      while (p < sql.data() + sql.size() && *p != '\n') ++p;
      continue;
    }
    return Error{ErrorCode::kUsage, "only one SQL statement per query"};
  }
  if (!st) return Error{ErrorCode::kUsage, "the query is empty"};
  for (size_t i = 0; i < params.size(); ++i) {
    int at = static_cast<int>(i) + 1;
    if (auto* n = std::get_if<int64_t>(&params[i])) st.bind(at, *n);
    else if (auto* d = std::get_if<double>(&params[i])) sqlite3_bind_double(st.get(), at, *d);
    else if (auto* t = std::get_if<std::string>(&params[i])) st.bind(at, std::string_view(*t));
    else st.bind_null(at);
  }
  Table t;
  int n = sqlite3_column_count(st.get());
  for (int i = 0; i < n; ++i) t.columns.emplace_back(sqlite3_column_name(st.get(), i));
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) {
    std::vector<Cell> row(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) row[static_cast<size_t>(i)] = column_cell(st, i);
    t.rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) return db.error("running the query");
  return t;
}

}  // namespace treeline::store
