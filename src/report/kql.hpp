#pragma once
// Kibana Query Language over the case's ECS documents (the `ecs` view): translated to one SQL
// WHERE clause with bound values, never evaluated by scanning JSON in C++.
//
// Covered: field:value, quoted phrases, wildcards * (and ? for one character; \* \? \\ and the
// other escapes), and/or/not (case-insensitive, not > and > or), parentheses, value lists
// field:(a or b), ranges > >= < <= (numbers and dates), field:* (exists), nested groups
// field:{ sub:value } (read as field.sub), and a bare value (searches every text field).
// Matching follows Elasticsearch's for the field's ECS type: keyword and wildcard fields match
// case-sensitively (exactly, or by wildcard over the whole value); `message` (match_only_text)
// matches case-insensitively, as a substring. winlog.event_data.NAME reads the event's data.
#include <string>
#include <string_view>
#include <vector>

#include "core/expected.hpp"
#include "core/table.hpp"
#include "store/sqlite.hpp"

namespace treeline::report::kql {

struct Translation {
  std::string where;              // SQL over the ecs view, with ? for each value
  std::vector<Cell> params;
  std::vector<std::string> warnings;  // a field no document has (it matches nothing)
};

// A syntax error is kUsage, naming the column (1-based) and what was expected there.
Expected<Translation> translate(std::string_view expression);

// The whole statement (for --explain), the values written in as SQL literals.
std::string explain(const Translation& t, bool all_columns);

struct QueryResult {
  Table table;
  std::vector<std::string> warnings;
};
// Runs it. `all_columns`: every ECS column (csv/json); else the table's short set.
Expected<QueryResult> run(store::Db& db, std::string_view expression, bool all_columns);

}  // namespace treeline::report::kql
