// treeline graph CASE.db --process KEY | --finding ID [--format dot|svg] [-o FILE]
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/command.hpp"
#include "report/dot.hpp"
#include "store/case_db.hpp"

namespace treeline::cli {
namespace {

struct GraphArgs {
  std::string case_path, process, out, format;
  int64_t finding = -1;
};

std::string render_svg(const std::string& dot) {
  if (std::system("command -v dot >/dev/null 2>&1") != 0)
    throw CliError(kExitError, "SVG needs Graphviz's `dot`, which is not installed: `apt-get install graphviz`, "
                               "or use --format dot and render it elsewhere");
  char tmpl[] = "/tmp/treeline-graph-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) throw CliError(kExitError, "cannot create a temporary file for dot");
  std::string in_path = tmpl;
  {
    std::ofstream f(in_path);
    f << dot;
  }
  close(fd);
  std::string cmd = fmt::format("dot -Tsvg '{}'", in_path);
  std::string svg;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) svg.append(buf, n);
    int rc = pclose(p);
    std::remove(in_path.c_str());
    if (rc != 0) throw CliError(kExitError, "dot failed to render the graph");
  }
  return svg;
}

int run_graph(const GraphArgs& a) {
  if (a.process.empty() == (a.finding < 0)) throw CliError(kExitUsage, "graph: give --process KEY or --finding ID");
  auto db = unwrap(store::open_case_read_only(a.case_path));
  std::string dot = unwrap(report::graph_dot(db, {a.process, a.finding}));
  std::string data = a.format == "svg" ? render_svg(dot) : dot;
  if (a.out.empty() || a.out == "-") {
    std::cout << data;
    return kExitOk;
  }
  std::ofstream out(a.out, std::ios::binary);
  out << data;
  if (!out) throw CliError(kExitError, fmt::format("{}: cannot write", a.out));
  return kExitOk;
}

}  // namespace

void register_graph(CLI::App& app) {
  auto a = std::make_shared<GraphArgs>();
  auto* sub = app.add_subcommand("graph", "Draw the tree around a process or finding (Graphviz DOT or SVG)");
  sub->add_option("CASE.db", a->case_path, "Case database")->required();
  sub->add_option("--process", a->process, "Process key");
  sub->add_option("--finding", a->finding, "Finding id (from `treeline hunt`)");
  sub->add_option("-o,--output", a->out, "Write to this file (default: stdout)");
  sub->add_option("--format", a->format, "dot or svg")->check(CLI::IsMember({"dot", "svg"}))->default_val("dot");
  sub->callback([a] { exit_code() = run_graph(*a); });
}

}  // namespace treeline::cli
