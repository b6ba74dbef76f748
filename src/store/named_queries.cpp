#include "store/named_queries.hpp"

namespace treeline::query_files {
const std::vector<std::pair<std::string_view, std::string_view>>& embedded_files();
}

namespace treeline::store {

const std::vector<NamedQuery>& named_queries() {
  static const std::vector<NamedQuery> all = [] {
    std::vector<NamedQuery> out;
    for (const auto& [file, sql] : query_files::embedded_files()) {
      NamedQuery q;
      q.name = std::string(file.substr(0, file.rfind(".sql")));
      q.sql = sql;
      if (sql.rfind("-- ", 0) == 0) q.summary = std::string(sql.substr(3, sql.find('\n') - 3));
      out.push_back(std::move(q));
    }
    return out;
  }();
  return all;
}

const NamedQuery* find_named_query(std::string_view name) {
  for (const auto& q : named_queries())
    if (q.name == name) return &q;
  return nullptr;
}

}  // namespace treeline::store
