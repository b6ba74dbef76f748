#include "report/tree.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <vector>

#include "core/text.hpp"
#include "core/time.hpp"
#include "core/vocabulary.hpp"
#include "graph/forest.hpp"
#include "graph/state.hpp"
#include "store/query.hpp"

namespace treeline::report {
namespace {

using Node = graph::ProcessNode;

// "2022-08-31T19:18:41.6762812Z" -> "2022-08-31 19:18:41.676"
std::string short_time(const std::optional<int64_t>& ft) {
  if (!ft) return std::string(23, ' ');
  std::string iso = filetime_to_iso(*ft);
  return iso.substr(0, 10) + " " + iso.substr(11, 12);
}

// `width`: the columns the line may take (0: no limit). The command line is what gets cut, in
// the middle, so it keeps its arguments ("wevtutil.exe" … cl Security").
std::string describe(const Node& n, size_t width) {
  if (n.source == "placeholder")
    return fmt::format("{:>23} {:>6} {} [not in log: {}]", "?", n.pid, n.image.empty() ? "?" : std::string(base_name(n.image)),
                       n.orphan_reason.empty() ? "unknown" : n.orphan_reason);
  std::string s = fmt::format("{} {:>6} {}", short_time(n.start), n.pid, base_name(n.image));
  if (!n.user.empty()) s += "  " + n.user;
  if (n.logon_type) s += fmt::format("  {}", logon_type_short_name(*n.logon_type));
  if (!n.integrity.empty()) s += "  " + n.integrity;
  if (n.confidence && *n.confidence < 0.9 && n.link_method != "placeholder")
    s += fmt::format("  [~link {:.2f}, {} candidates]", *n.confidence, n.candidates);
  if (!n.command_line.empty()) {
    std::string cmd = n.command_line;
    for (char& c : cmd)
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    size_t used = display_width(s) + 2;
    s += "  " + (width == 0 ? cmd : cut_middle(cmd, std::max<size_t>(20, width > used ? width - used : 0)));
  }
  return s;
}

nlohmann::ordered_json to_json(const Node& n) {
  nlohmann::ordered_json j;
  j["process_key"] = n.key;
  j["host"] = n.host;
  j["pid"] = n.pid;
  j["image"] = n.image;
  j["command_line"] = n.command_line;
  j["start_time"] = n.start_iso.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(n.start_iso);
  j["user_name"] = n.user;
  j["logon_id"] = n.logon_id ? nlohmann::ordered_json(fmt::format("0x{:x}", *n.logon_id)) : nlohmann::ordered_json();
  j["logon_type"] = n.logon_type ? nlohmann::ordered_json(*n.logon_type) : nlohmann::ordered_json();
  j["integrity_level"] = n.integrity;
  j["source"] = n.source;
  j["link_method"] = n.link_method.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(n.link_method);
  j["link_confidence"] = n.confidence ? nlohmann::ordered_json(*n.confidence) : nlohmann::ordered_json();
  j["orphan_reason"] = n.orphan_reason.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(n.orphan_reason);
  j["session_key"] = n.session_key;
  return j;
}

}  // namespace

Expected<size_t> write_tree(std::ostream& out, store::Db& db, const TreeOptions& o, Format format) {
  if (auto s = graph::require_current_graph(db); !s) return s.error();
  auto forest = graph::load_forest(db, host_short_name(o.host));
  if (!forest) return forest.error();
  const std::vector<Node>& nodes = forest->nodes;
  const graph::ProcessGraph& g = forest->links;
  const auto& index = forest->index;

  // Which processes to show.
  std::vector<bool> keep(nodes.size(), true);
  std::vector<size_t> targets;
  if (!o.process_key.empty()) {
    auto it = index.find(o.process_key);
    if (it == index.end()) return Error{ErrorCode::kUsage, fmt::format("no process {} in the case", o.process_key)};
    targets.push_back(it->second);
  } else if (o.pid) {
    if (!o.at) return Error{ErrorCode::kUsage, "--pid needs --at TIME: PIDs are reused"};
    std::optional<size_t> best;
    for (size_t i = 0; i < nodes.size(); ++i) {
      const Node& n = nodes[i];
      if (n.pid != *o.pid || !n.start || *n.start > *o.at) continue;
      if (!best || *nodes[*best].start < *n.start) best = i;
    }
    if (!best) return Error{ErrorCode::kUsage, fmt::format("no process with PID {} had started by then", *o.pid)};
    targets.push_back(*best);
  }
  if (!targets.empty()) {
    keep.assign(nodes.size(), false);
    for (size_t t : targets) {
      keep[t] = true;
      if (!o.descendants_only)
        for (size_t a : g.ancestors(t)) keep[a] = true;
      if (!o.ancestors_only)
        for (size_t d : g.descendants(t)) keep[d] = true;
    }
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (o.logon_id && n.logon_id != o.logon_id) keep[i] = false;
    if (o.from && (!n.start || *n.start < *o.from)) keep[i] = false;
    if (o.to && (!n.start || *n.start > *o.to)) keep[i] = false;
  }
  // A placeholder is shown when one of the processes shown is its child.
  if (o.logon_id || o.from || o.to)
    for (size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i].source == "placeholder")
        for (size_t c : g.children(i))
          if (keep[c] && nodes[c].source != "placeholder") keep[i] = true;

  std::vector<size_t> roots;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!keep[i]) continue;
    auto p = g.parent(i);
    if (!p || !keep[*p]) roots.push_back(i);
  }
  auto sort_key = [&](size_t i) {
    // Placeholders sort by their first child's start.
    std::optional<int64_t> t = nodes[i].start;
    if (!t)
      for (size_t c : g.children(i))
        if (keep[c] && nodes[c].start && (!t || *nodes[c].start < *t)) t = nodes[c].start;
    return std::make_tuple(nodes[i].host, t.value_or(INT64_MAX), nodes[i].key);
  };
  auto by_time = [&](size_t a, size_t b) { return sort_key(a) < sort_key(b); };
  std::sort(roots.begin(), roots.end(), by_time);
  auto kept_children = [&](size_t v) {
    std::vector<size_t> kids;
    for (size_t c : g.children(v))
      if (keep[c]) kids.push_back(c);
    std::sort(kids.begin(), kids.end(), by_time);
    return kids;
  };

  size_t shown = 0;
  if (format == Format::kJson) {
    // Written as it is walked, with an explicit stack: a chain 100,000 processes deep must not
    // recurse (nor build a document nlohmann would dump recursively). One process per line,
    // indented by depth up to kMaxIndent levels, so a deep tree stays linear in size.
    constexpr size_t kMaxIndent = 32;
    struct Frame {
      std::vector<size_t> kids;
      size_t next = 0;
    };
    std::vector<Frame> stack;
    stack.push_back({roots, 0});
    out << "[";
    while (!stack.empty()) {
      Frame& f = stack.back();
      if (f.next == f.kids.size()) {
        stack.pop_back();
        out << (f.kids.empty() ? "]" : "\n" + std::string(2 * std::min(stack.size(), kMaxIndent), ' ') + "]");
        if (!stack.empty()) out << "}";
        continue;
      }
      size_t v = f.kids[f.next];
      out << (f.next++ ? "," : "") << "\n" << std::string(2 * std::min(stack.size(), kMaxIndent), ' ');
      std::string node = to_json(nodes[v]).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      node.pop_back();  // the closing brace: the children go in first
      out << node << ",\"children\":[";
      ++shown;
      stack.push_back({kept_children(v), 0});
    }
    out << "\n";
    return shown;
  }
  if (format == Format::kCsv) {
    Table t;
    t.columns = {"depth", "process_key", "parent_key", "host", "pid", "image", "start_time", "user_name",
                 "logon_type", "integrity_level", "source", "link_method", "link_confidence", "orphan_reason",
                 "command_line"};
    struct Item { size_t v; int depth; };
    std::vector<Item> stack;
    for (auto it = roots.rbegin(); it != roots.rend(); ++it) stack.push_back({*it, 0});
    while (!stack.empty()) {
      auto [v, depth] = stack.back();
      stack.pop_back();
      const Node& n = nodes[v];
      t.rows.push_back({int64_t{depth}, n.key, n.parent_key, n.host, n.pid, n.image, n.start_iso, n.user,
                        n.logon_type ? Cell{*n.logon_type} : Cell{}, n.integrity, n.source, n.link_method,
                        n.confidence ? Cell{*n.confidence} : Cell{}, n.orphan_reason, n.command_line});
      ++shown;
      auto kids = kept_children(v);
      for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.push_back({*it, depth + 1});
    }
    write_table(out, t, Format::kCsv);
    return shown;
  }
  // pstree-style text. Past kMaxDrawn levels the branches stop widening and each line says its
  // depth: the lines of a 100,000-deep chain stay short (and the work linear).
  constexpr size_t kMaxDrawn = 40;
  std::string last_host;
  struct Item { size_t v; std::string prefix; bool last; bool root; size_t depth = 0; };
  std::vector<Item> stack;
  for (auto it = roots.rbegin(); it != roots.rend(); ++it) stack.push_back({*it, "", true, true});
  while (!stack.empty()) {
    Item item = stack.back();
    stack.pop_back();
    const Node& n = nodes[item.v];
    if (item.root && n.host != last_host) {
      out << (last_host.empty() ? "" : "\n") << "== " << n.host << "  (times UTC)\n";
      last_host = n.host;
    }
    std::string branch = item.root ? "" : (item.last ? "└─ " : "├─ ");
    std::string deep = item.depth > kMaxDrawn ? fmt::format("[depth {}] ", item.depth) : "";
    std::string head = item.prefix + branch + deep;
    size_t head_width = display_width(head);
    out << cut_end(head + describe(n, o.width > head_width ? o.width - head_width : o.width ? 1 : 0), o.width) << "\n";
    ++shown;
    std::string child_prefix = item.root ? "" : item.depth >= kMaxDrawn ? item.prefix : item.prefix + (item.last ? "   " : "│  ");
    auto kids = kept_children(item.v);
    for (size_t k = kids.size(); k-- > 0;)
      stack.push_back({kids[k], child_prefix, k + 1 == kids.size(), false, item.depth + 1});
  }
  return shown;
}

}  // namespace treeline::report
