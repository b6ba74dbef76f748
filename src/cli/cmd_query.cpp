// treeline query CASE.db "SQL" | --named NAME | --list
#include <fmt/format.h>

#include <iostream>

#include "cli/command.hpp"
#include "store/case_db.hpp"
#include "store/named_queries.hpp"
#include "store/query.hpp"

namespace treeline::cli {
namespace {

struct QueryArgs {
  std::string case_path;
  std::string sql;
  std::string named;
  bool list = false;
  bool full = false;
  std::string format;
};

int run_query(const QueryArgs& a) {
  auto format = to_format(a.format);
  if (a.list) {
    Table t;
    t.columns = {"name", "summary"};
    for (const auto& q : store::named_queries()) t.rows.push_back({q.name, q.summary});
    report::write_table(std::cout, t, format, {0});
    return kExitOk;
  }
  if (a.case_path.empty()) throw CliError(kExitUsage, "query: CASE.db is required");
  std::string_view sql = a.sql;
  if (!a.named.empty()) {
    if (!a.sql.empty()) throw CliError(kExitUsage, "query: give SQL or --named, not both");
    const auto* q = store::find_named_query(a.named);
    if (!q) throw CliError(kExitUsage, fmt::format("query: no named query '{}' (see `treeline query --list`)", a.named));
    sql = q->sql;
  }
  if (sql.empty()) throw CliError(kExitUsage, "query: give SQL, --named NAME or --list");
  // Evidence is never changed by a query: the case is opened read-only.
  auto db = unwrap(store::open_case_read_only(a.case_path));
  auto table = unwrap(store::run_query(db, sql));
  report::write_table(std::cout, table, format, {a.full ? size_t{0} : size_t{80}, a.full ? 0 : report::terminal_width()});
  return kExitOk;
}

}  // namespace

void register_query(CLI::App& app) {
  auto args = std::make_shared<QueryArgs>();
  auto* sub = app.add_subcommand("query", "Run SQL or a named hunt on a case database (read-only)");
  sub->add_option("CASE.db", args->case_path, "Case database");
  sub->add_option("SQL", args->sql, "One SQL statement");
  sub->add_option("-n,--named", args->named, "Run a named query from queries/");
  sub->add_flag("-l,--list", args->list, "List the named queries");
  sub->add_flag("--wide,--full", args->full, "Do not cut long cells, nor fit the terminal");
  add_format_option(*sub, args->format);
  sub->callback([args] { exit_code() = run_query(*args); });
}

}  // namespace treeline::cli
