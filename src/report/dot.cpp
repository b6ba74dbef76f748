#include "report/dot.hpp"

#include <fmt/format.h>

#include <boost/graph/graphviz.hpp>
#include <map>
#include <sstream>
#include <unordered_map>

#include "core/text.hpp"
#include "graph/process_graph.hpp"
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
  auto rows = store::run_query(db,
      "SELECT t.process_key, t.parent_key, t.pid, t.image, t.start_time, t.user_name, t.source, "
      "(SELECT e.orphan_reason FROM process_edges e WHERE e.parent_key = t.process_key AND e.orphan_reason IS NOT NULL "
      " ORDER BY e.child_key LIMIT 1), "
      "(SELECT max(CASE f.severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END) "
      " FROM findings f WHERE f.process_key = t.process_key AND f.kind = 'detection'), "
      "(SELECT group_concat(f.action, ', ') FROM findings f WHERE f.process_key = t.process_key AND f.kind = 'detection') "
      "FROM process_tree t WHERE t.host = (SELECT host FROM processes WHERE process_key = ?1) "
      "ORDER BY t.start_ft IS NULL, t.start_ft, t.process_key", {focus});
  if (!rows) return rows.error();
  if (rows->rows.empty()) return Error{ErrorCode::kUsage, fmt::format("no process {} in the case", focus)};
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < rows->rows.size(); ++i) index.emplace(text(rows->rows[i][0]), i);
  graph::ProcessGraph all(rows->rows.size());
  for (size_t i = 0; i < rows->rows.size(); ++i)
    if (auto p = index.find(text(rows->rows[i][1])); p != index.end()) all.add_link(p->second, i);
  auto found = index.find(focus);
  if (found == index.end()) return Error{ErrorCode::kUsage, fmt::format("no process {} in the case", focus)};
  size_t f = found->second;
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
    const auto& r = rows->rows[keep[v]];
    int rank = std::holds_alternative<int64_t>(r[8]) ? static_cast<int>(std::get<int64_t>(r[8])) : 0;
    std::string l = esc(fmt::format("{} ({})", text(r[3]).empty() ? "?" : std::string(base_name(text(r[3]))), std::get<int64_t>(r[2])));
    if (!text(r[4]).empty()) l += "\\n" + esc(text(r[4]).substr(0, 23));
    if (!text(r[5]).empty()) l += "\\n" + esc(text(r[5]));
    if (text(r[6]) == "placeholder") l += "\\nnot in log: " + esc(text(r[7]));
    if (!text(r[9]).empty()) l += "\\n" + esc(text(r[9]));
    out << fmt::format("[label=\"{}\", shape=box, style=\"filled{}\", fillcolor=\"{}\"{}]", l,
                       text(r[6]) == "placeholder" ? ",dashed" : "", colour(rank), keep[v] == f ? ", penwidth=3" : "");
  };
  std::ostringstream out;
  boost::write_graphviz(out, g, label, boost::default_writer(),
                        [](std::ostream& o2) { o2 << "rankdir=LR;\nnode [fontname=\"Helvetica\", fontsize=10];\n"; });
  return out.str();
}

}  // namespace treeline::report
