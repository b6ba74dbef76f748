// treeline story CASE.db (--finding N | --process KEY | --session KEY)
#include <iostream>

#include "cli/command.hpp"
#include "report/story.hpp"
#include "store/case_db.hpp"

namespace treeline::cli {
namespace {

struct StoryArgs {
  std::string case_path, process, session, format;
  int64_t finding = 0;
  size_t lines = 3;
  bool full = false;
};

int run_story(const StoryArgs& a) {
  auto format = to_format(a.format);
  if ((a.finding != 0) + !a.process.empty() + !a.session.empty() != 1)
    throw CliError(kExitUsage, "story needs one of --finding, --process or --session");
  auto db = unwrap(store::open_case_read_only(a.case_path));
  report::StoryOptions options;
  options.for_terminal = format == report::Format::kTable;
  options.script_lines = a.lines;
  auto table = unwrap(report::story_table(db, {a.finding, a.process, a.session}, options));
  report::TableStyle style{a.full ? size_t{0} : size_t{160}, a.full ? 0 : report::terminal_width(), {{"summary", 56}}};
  report::write_table(std::cout, table, format, style);
  return kExitOk;
}

}  // namespace

void register_story(CLI::App& app) {
  auto a = std::make_shared<StoryArgs>();
  auto* sub = app.add_subcommand(
      "story", "Tell what led to a finding, process or session and what followed, in time order, with each row's record");
  sub->add_option("CASE.db", a->case_path, "Case database")->required();
  auto* finding = sub->add_option("--finding", a->finding, "A finding's id (from hunt)");
  auto* process = sub->add_option("--process", a->process, "A process key (from tree --keys, timeline, hunt --format csv)");
  auto* session = sub->add_option("--session", a->session, "A session key (from sessions)");
  finding->excludes(process)->excludes(session);
  process->excludes(session);
  sub->add_option("--script-lines", a->lines, "Lines of each script block shown (the rest counted)")->capture_default_str();
  sub->add_flag("--wide,--full", a->full, "Do not cut long cells or fit the terminal");
  add_format_option(*sub, a->format);
  sub->callback([a] { exit_code() = run_story(*a); });
}

}  // namespace treeline::cli
