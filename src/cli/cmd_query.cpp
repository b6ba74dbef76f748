// treeline query CASE.db "SQL" | --named NAME | --list
#include <fmt/format.h>

#include <iostream>

#include "cli/command.hpp"
#include "store/case_db.hpp"
#include "store/named_queries.hpp"
#include "report/kql.hpp"
#include "store/query.hpp"

namespace treeline::cli {
namespace {

struct QueryArgs {
  std::string case_path;
  std::string sql;
  std::string named;
  std::string kql;
  bool explain = false;
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
  const report::TableStyle style{a.full ? size_t{0} : size_t{80}, a.full ? 0 : report::terminal_width()};
  if (!a.kql.empty()) {
    if (!a.sql.empty() || !a.named.empty()) throw CliError(kExitUsage, "query: give SQL, --named or --kql, one of them");
    const bool all_columns = format != report::Format::kTable;
    if (a.explain) {
      auto t = unwrap(report::kql::translate(a.kql));
      fmt::print("{}\n", report::kql::explain(t, all_columns));
      return kExitOk;
    }
    auto db = unwrap(store::open_case_read_only(a.case_path));
    auto result = unwrap(report::kql::run(db, a.kql, all_columns));
    for (const auto& w : result.warnings) fmt::print(stderr, "treeline: KQL: {}\n", w);
    report::TableStyle kql_style = style;
    kql_style.keep_width = {{"summary", 50}};
    report::write_table(std::cout, result.table, format, kql_style);
    return kExitOk;
  }
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
  report::write_table(std::cout, table, format, style);
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
  sub->add_option("--kql", args->kql, "A Kibana Query Language expression over the case's ECS documents");
  sub->add_flag("--explain", args->explain, "With --kql: print the SQL it becomes instead of running it");
  sub->add_flag("--wide,--full", args->full, "Do not cut long cells, nor fit the terminal");
  add_format_option(*sub, args->format);
  sub->callback([args] { exit_code() = run_query(*args); });
}

}  // namespace treeline::cli
