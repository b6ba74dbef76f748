#include "report/dot.hpp"

#include <fmt/format.h>

#include <boost/graph/graphviz.hpp>
#include <map>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "core/text.hpp"
#include "graph/forest.hpp"
#include "graph/state.hpp"
#include "store/query.hpp"

namespace treeline::report {
namespace {

std::string text(const Cell& c) { return std::holds_alternative<std::string>(c) ? std::get<std::string>(c) : ""; }

const char* colour(int rank) {
  switch (rank) {
    case 4: return "#b2182b";  // critical
    case 3: return "#ef8a62";  // high
    case 2: return "#fddbc7";  // medium
    case 1: return "#f7f7f7";  // low
    default: return "#ffffff";
  }
}

// A command line in lines of about `width` bytes (never inside a UTF-8 character), at most
// `lines` of them, the last ending in "…" when there was more; control characters are spaces.
std::vector<std::string> wrap(std::string_view text, size_t width, size_t lines) {
  std::string flat(text);
  for (char& c : flat)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  std::vector<std::string> out;
  size_t at = 0;
  while (at < flat.size() && out.size() < lines) {
    size_t end = std::min(flat.size(), at + width);
    // At a space when there is one in the line's second half, so words stay whole.
    if (end < flat.size())
      if (auto space = flat.rfind(' ', end); space != std::string::npos && space > at + width / 2) end = space + 1;
    while (end < flat.size() && end > at && (static_cast<unsigned char>(flat[end]) & 0xC0) == 0x80) --end;
    out.push_back(flat.substr(at, end - at));
    at = end;
  }
  if (at < flat.size() && !out.empty()) out.back() += "…";
  return out;
}

}  // namespace

Expected<std::string> graph_dot(store::Db& db, const GraphOptions& o) {
  if (auto s = graph::require_current_graph(db); !s) return s.error();
  std::string focus = o.process_key;
  if (o.finding_id >= 0) {
    auto f = store::run_query(db, "SELECT process_key FROM findings WHERE finding_id = ?1", {o.finding_id});
    if (!f) return f.error();
    if (f->rows.empty() || text(f->rows[0][0]).empty())
      return Error{ErrorCode::kUsage, fmt::format("no finding {} with a process (see `treeline hunt`)", o.finding_id)};
    focus = text(f->rows[0][0]);
  }
  auto host = store::run_query(db, "SELECT host FROM processes WHERE process_key = ?1", {focus});
  if (!host) return host.error();
  if (host->rows.empty()) return Error{ErrorCode::kUsage, fmt::format("no process {} in the case", focus)};
  auto forest = graph::load_forest(db, text(host->rows[0][0]));
  if (!forest) return forest.error();
  const auto& nodes = forest->nodes;
  const graph::ProcessGraph& all = forest->links;
  auto found = forest->find(focus);
  if (!found) return Error{ErrorCode::kUsage, fmt::format("no process {} in the case", focus)};
  const size_t f = *found;
  // Each process's detections: the colour of the worst, and their actions.
  auto flagged = store::run_query(db,
      "SELECT process_key, max(CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 "
      "WHEN 'low' THEN 1 ELSE 0 END), group_concat(action, ', ') FROM findings "
      "WHERE kind = 'detection' AND process_key IS NOT NULL GROUP BY process_key", {});
  if (!flagged) return flagged.error();
  std::unordered_map<std::string, std::pair<int, std::string>> findings_of;
  for (const auto& r : flagged->rows)
    findings_of[text(r[0])] = {static_cast<int>(std::get<int64_t>(r[1])), text(r[2])};
  // The focus, its ancestors and its descendants.
  std::vector<size_t> keep = {f};
  for (size_t a : all.ancestors(f)) keep.push_back(a);
  for (size_t d : all.descendants(f)) keep.push_back(d);
  std::sort(keep.begin(), keep.end());
  std::map<size_t, size_t> local;
  for (size_t i = 0; i < keep.size(); ++i) local[keep[i]] = i;
  graph::ProcessGraph::Drawing g(keep.size());
  for (size_t i : keep)
    if (auto p = all.parent(i); p && local.count(*p)) boost::add_edge(local[*p], local[i], g);

  // DOT strings: user text gets its backslashes and quotes escaped; "\n" separates lines.
  auto esc = [](const std::string& t) {
    std::string e;
    for (char c : t) {
      if (c == '\\' || c == '"') e += '\\';
      e += c;
    }
    return e;
  };
  auto label = [&](std::ostream& out, size_t v) {
    const graph::ProcessNode& n = nodes[keep[v]];
    auto fi = findings_of.find(n.key);
    const int rank = fi == findings_of.end() ? 0 : fi->second.first;
    std::string l = esc(fmt::format("{} ({})", n.image.empty() ? "?" : std::string(base_name(n.image)), n.pid));
    if (!n.start_iso.empty()) l += "\\n" + esc(n.start_iso.substr(0, 23));
    if (!n.user.empty()) l += "\\n" + esc(n.user);
    if (n.placeholder()) l += "\\nnot in log: " + esc(n.orphan_reason);
    // The command line tells identical images apart (three cmd.exe); wrapped, cut after 4 lines.
    for (const std::string& line : wrap(n.command_line, 48, 4)) l += "\\n" + esc(line);
    if (fi != findings_of.end() && !fi->second.second.empty()) l += "\\n" + esc(fi->second.second);
    // The tooltip (SVG: the node's title) holds all of it, and the key to paste elsewhere.
    std::string tip = n.command_line.empty() ? n.image : n.command_line;
    for (char& c : tip)
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    tip = esc(tip) + "\\n" + esc(n.key);
    out << fmt::format("[label=\"{}\", tooltip=\"{}\", shape=box, style=\"filled{}\", fillcolor=\"{}\"{}]", l, tip,
                       n.placeholder() ? ",dashed" : "", colour(rank), keep[v] == f ? ", penwidth=3" : "");
  };
  std::ostringstream out;
  boost::write_graphviz(out, g, label, boost::default_writer(),
                        [](std::ostream& o2) { o2 << "rankdir=LR;\nnode [fontname=\"Helvetica\", fontsize=10];\n"; });
  return out.str();
}

}  // namespace treeline::report
