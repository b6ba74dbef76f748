// treeline search CASE.db TEXT [--field NAME] [--regex] [--host H] [--since T] [--until T] [--event-id N]
#include <fmt/format.h>

#include <iostream>

#include "cli/command.hpp"
#include "report/search.hpp"
#include "store/case_db.hpp"

namespace treeline::cli {
namespace {

struct SearchArgs {
  std::string case_path, text, field, host, since, until, format;
  int64_t event_id = -1, limit = 10000;
  bool regex = false, full = false;
};

int run_search(const SearchArgs& a) {
  auto format = to_format(a.format);
  report::SearchOptions o;
  o.text = a.text;
  o.regex = a.regex;
  o.field = a.field;
  o.host = a.host;
  if (!a.since.empty()) o.since = parse_time_flag("--since", a.since);
  if (!a.until.empty()) o.until = parse_time_flag("--until", a.until);
  if (a.event_id >= 0) o.event_id = a.event_id;
  o.limit = a.limit;
  auto db = unwrap(store::open_case_read_only(a.case_path));
  auto r = unwrap(report::search(db, o));
  report::write_table(std::cout, r.table, format,
                      {a.full ? size_t{0} : size_t{80}, a.full ? 0 : report::terminal_width(), {{"matched", 40}}});
  if (r.truncated) fmt::print(stderr, "treeline: the first {} matches shown; --limit N shows more\n", a.limit);
  return kExitOk;
}

}  // namespace

void register_search(CLI::App& app) {
  auto a = std::make_shared<SearchArgs>();
  auto* sub = app.add_subcommand("search", "Find a text in every event's data and every process's command line");
  sub->add_option("CASE.db", a->case_path, "Case database")->required();
  sub->add_option("TEXT", a->text, "What to look for: a substring, case-insensitive (or a regex with --regex)")->required();
  sub->add_option("--field", a->field, "Only in this event data field (CommandLine also searches processes)");
  sub->add_flag("--regex", a->regex, "TEXT is an RE2 regular expression (case-sensitive unless (?i))");
  sub->add_option("--host", a->host, "Only this host (short or full name)");
  sub->add_option("--since,--from", a->since, "Only at or after this time (ISO 8601 UTC)");
  sub->add_option("--until,--to", a->until, "Only at or before this time");
  sub->add_option("--event-id", a->event_id, "Only events with this id (processes are left out)");
  sub->add_option("--limit", a->limit, "At most this many rows")->capture_default_str();
  sub->add_flag("--wide,--full", a->full, "Do not cut long cells, nor fit the terminal");
  add_format_option(*sub, a->format);
  sub->callback([a] { exit_code() = run_search(*a); });
}

}  // namespace treeline::cli
