#pragma once
// queries/*.sql: named hunts, embedded in the binary. The first comment line is the summary.
#include <string>
#include <string_view>
#include <vector>

namespace treeline::store {

struct NamedQuery {
  std::string name;     // file name without ".sql"
  std::string summary;  // first "-- " line
  std::string_view sql;
};

const std::vector<NamedQuery>& named_queries();
const NamedQuery* find_named_query(std::string_view name);

}  // namespace treeline::store
