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
std::string describe(const Node& n, size_t width, bool keys) {
  if (n.source == "placeholder")
    return fmt::format("{:>23} {:>6} {} [not in log: {}]{}", "?", n.pid, n.image.empty() ? "?" : std::string(base_name(n.image)),
                       n.orphan_reason.empty() ? "unknown" : n.orphan_reason, keys ? "  [" + n.key + "]" : "");
  std::string s = fmt::format("{} {:>6} {}", short_time(n.start), n.pid, base_name(n.image));
  if (!n.user.empty()) s += "  " + n.user;
  if (n.logon_type) s += fmt::format("  {}", logon_type_short_name(*n.logon_type));
  if (!n.integrity.empty()) s += "  " + n.integrity;
  if (n.confidence && *n.confidence < 0.9 && n.link_method != "placeholder")
    s += fmt::format("  [~link {:.2f}, {} candidates]", *n.confidence, n.candidates);
  const std::string key = keys ? "  [" + n.key + "]" : "";
  if (!n.command_line.empty()) {
    std::string cmd = n.command_line;
    for (char& c : cmd)
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    size_t used = display_width(s) + 2;
    used += display_width(key);
    s += "  " + (width == 0 ? cmd : cut_middle(cmd, std::max<size_t>(20, width > used ? width - used : 0)));
  }
  return s + key;
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

// A logon on another host that a shown process opened (session_links), drawn under it.
struct RemoteLogon {
  std::string label;           // "⇢ srv02 logon 0x1a30d9 network CORP\alice [network_connection 0.90]"
  std::string session_key;
  std::vector<size_t> roots;   // the session's processes whose parent ran in another session
};

// What the tree shows: the kept processes, their roots, and (--follow-logons) the remote logons
// hanging under their source processes.
struct View {
  const std::vector<Node>& nodes;
  const graph::ProcessGraph& g;
  std::vector<bool> keep;
  std::vector<size_t> roots;
  std::unordered_map<size_t, std::vector<RemoteLogon>> remote;  // source process -> logons it opened

  std::tuple<std::string, int64_t, std::string> sort_key(size_t i) const {
    // Placeholders sort by their first child's start.
    std::optional<int64_t> t = nodes[i].start;
    if (!t)
      for (size_t c : g.children(i))
        if (keep[c] && nodes[c].start && (!t || *nodes[c].start < *t)) t = nodes[c].start;
    return std::make_tuple(nodes[i].host, t.value_or(INT64_MAX), nodes[i].key);
  }
  void sort(std::vector<size_t>& v) const {
    std::sort(v.begin(), v.end(), [&](size_t a, size_t b) { return sort_key(a) < sort_key(b); });
  }
  std::vector<size_t> kept_children(size_t v) const {
    std::vector<size_t> kids;
    for (size_t c : g.children(v))
      if (keep[c]) kids.push_back(c);
    sort(kids);
    return kids;
  }
};

Expected<std::vector<size_t>> targets_of(const graph::Forest& forest, const TreeOptions& o) {
  const auto& nodes = forest.nodes;
  std::vector<size_t> targets;
  if (!o.process_key.empty()) {
    auto it = forest.index.find(o.process_key);
    if (it == forest.index.end()) return Error{ErrorCode::kUsage, fmt::format("no process {} in the case", o.process_key)};
    targets.push_back(it->second);
  } else if (o.pid) {
    if (!o.at) return Error{ErrorCode::kUsage, "--pid needs --at TIME: PIDs are reused (without it, the candidates are listed)"};
    std::optional<size_t> best;
    for (size_t i = 0; i < nodes.size(); ++i) {
      const Node& n = nodes[i];
      if (n.pid != *o.pid || !n.start || *n.start > *o.at) continue;
      if (!best || *nodes[*best].start < *n.start) best = i;
    }
    if (!best) return Error{ErrorCode::kUsage, fmt::format("no process with PID {} had started by then", *o.pid)};
    targets.push_back(*best);
  }
  return targets;
}

// Which processes to show, by the filters.
Status select(View& v, const graph::Forest& forest, const TreeOptions& o) {
  const auto& nodes = v.nodes;
  auto targets = targets_of(forest, o);
  if (!targets) return targets.error();
  const std::string host = host_short_name(o.host);
  v.keep.assign(nodes.size(), true);
  if (!targets->empty()) {
    v.keep.assign(nodes.size(), false);
    for (size_t t : *targets) {
      v.keep[t] = true;
      if (!o.descendants_only)
        for (size_t a : v.g.ancestors(t)) v.keep[a] = true;
      if (!o.ancestors_only)
        for (size_t d : v.g.descendants(t)) v.keep[d] = true;
    }
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (!host.empty() && n.host != host) v.keep[i] = false;  // the forest holds every host with --follow-logons
    if (o.logon_id && n.logon_id != o.logon_id) v.keep[i] = false;
    if (o.from && (!n.start || *n.start < *o.from)) v.keep[i] = false;
    if (o.to && (!n.start || *n.start > *o.to)) v.keep[i] = false;
  }
  // A placeholder is shown when one of the processes shown is its child.
  if (o.logon_id || o.from || o.to)
    for (size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i].source == "placeholder")
        for (size_t c : v.g.children(i))
          if (v.keep[c] && nodes[c].source != "placeholder") v.keep[i] = true;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!v.keep[i]) continue;
    auto p = v.g.parent(i);
    if (!p || !v.keep[*p]) v.roots.push_back(i);
  }
  v.sort(v.roots);
  return ok_status();
}

// The logons the shown processes opened on other hosts, each with its session's root processes;
// those and their descendants are shown under it (and stay in their own host's tree as well).
Status follow_logons(View& v, const graph::Forest& forest, store::Db& db) {
  auto st = db.prepare(
      "SELECT l.source_process_key, s.session_key, s.host, s.logon_id_hex, coalesce(s.logon_type_name, '?'), "
      "coalesce(s.user_name, '?'), l.source_link_method, l.source_link_confidence FROM session_links l "
      "JOIN logon_sessions s USING (session_key) WHERE l.source_process_key IS NOT NULL ORDER BY s.start_ft, s.session_key");
  if (!st) return st.error();
  std::unordered_map<std::string, std::vector<size_t>> by_session;
  for (size_t i = 0; i < v.nodes.size(); ++i)
    if (!v.nodes[i].session_key.empty()) by_session[v.nodes[i].session_key].push_back(i);
  int rc;
  std::vector<size_t> shown;
  while ((rc = st->step()) == SQLITE_ROW) {
    auto source = forest.find(st->column_text(0));
    if (!source || !v.keep[*source]) continue;
    RemoteLogon r;
    r.session_key = st->column_text(1);
    r.label = fmt::format("⇢ remote logon on {}: {} {} {} [{} {:.2f}]", st->column_text(2), st->column_text(3),
                          st->column_text(4), st->column_text(5), st->column_text(6), st->column_double(7));
    for (size_t i : by_session[r.session_key]) {
      auto p = v.g.parent(i);
      if (!p || v.nodes[*p].session_key != r.session_key) r.roots.push_back(i);
    }
    v.sort(r.roots);
    for (size_t root : r.roots) {
      shown.push_back(root);
      for (size_t d : v.g.descendants(root)) shown.push_back(d);
    }
    v.remote[*source].push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return db.error("reading the logons the processes opened on other hosts");
  for (size_t i : shown) v.keep[i] = true;
  return ok_status();
}

size_t write_json(std::ostream& out, const View& v) {
  // Written as it is walked, with an explicit stack: a chain 100,000 processes deep must not
  // recurse (nor build a document nlohmann would dump recursively). One process per line,
  // indented by depth up to kMaxIndent levels, so a deep tree stays linear in size.
  constexpr size_t kMaxIndent = 32;
  struct Frame {
    std::vector<size_t> kids;
    size_t next = 0;
  };
  size_t shown = 0;
  std::vector<Frame> stack;
  stack.push_back({v.roots, 0});
  out << "[";
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.next == f.kids.size()) {
      stack.pop_back();
      out << (f.kids.empty() ? "]" : "\n" + std::string(2 * std::min(stack.size(), kMaxIndent), ' ') + "]");
      if (!stack.empty()) out << "}";
      continue;
    }
    size_t n = f.kids[f.next];
    out << (f.next++ ? "," : "") << "\n" << std::string(2 * std::min(stack.size(), kMaxIndent), ' ');
    std::string node = to_json(v.nodes[n]).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    node.pop_back();  // the closing brace: the children go in first
    out << node;
    if (auto r = v.remote.find(n); r != v.remote.end()) {
      // The remote logons it opened, with their sessions' root processes (not nested further).
      nlohmann::ordered_json logons = nlohmann::ordered_json::array();
      for (const RemoteLogon& l : r->second) {
        nlohmann::ordered_json roots = nlohmann::ordered_json::array();
        for (size_t root : l.roots) roots.push_back(v.nodes[root].key);
        logons.push_back({{"session_key", l.session_key}, {"label", l.label}, {"root_process_keys", roots}});
      }
      out << ",\"remote_logons\":" << logons.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    out << ",\"children\":[";
    ++shown;
    stack.push_back({v.kept_children(n), 0});
  }
  out << "\n";
  return shown;
}

size_t write_csv(std::ostream& out, const View& v, bool follow) {
  Table t;
  t.columns = {"depth", "process_key", "parent_key", "host", "pid", "image", "start_time", "user_name",
               "logon_type", "integrity_level", "source", "link_method", "link_confidence", "orphan_reason",
               "command_line"};
  if (follow) t.columns.push_back("via_remote_logon");  // the session key through which it hangs there
  struct Item { size_t v; int depth; std::string via; };
  std::vector<Item> stack;
  for (auto it = v.roots.rbegin(); it != v.roots.rend(); ++it) stack.push_back({*it, 0, ""});
  while (!stack.empty()) {
    Item item = stack.back();
    stack.pop_back();
    const Node& n = v.nodes[item.v];
    t.rows.push_back({int64_t{item.depth}, n.key, n.parent_key, n.host, n.pid, n.image, n.start_iso, n.user,
                      n.logon_type ? Cell{*n.logon_type} : Cell{}, n.integrity, n.source, n.link_method,
                      n.confidence ? Cell{*n.confidence} : Cell{}, n.orphan_reason, n.command_line});
    if (follow) t.rows.back().push_back(item.via.empty() ? Cell{} : Cell{item.via});
    auto kids = v.kept_children(item.v);
    std::vector<Item> next;
    for (size_t k : kids) next.push_back({k, item.depth + 1, ""});
    if (auto r = v.remote.find(item.v); r != v.remote.end())
      for (const RemoteLogon& l : r->second)
        for (size_t root : l.roots) next.push_back({root, item.depth + 1, l.session_key});
    for (auto it = next.rbegin(); it != next.rend(); ++it) stack.push_back(*it);
  }
  write_table(out, t, Format::kCsv);
  return t.rows.size();
}

// pstree-style text. Past kMaxDrawn levels the branches stop widening and each line says its
// depth: the lines of a 100,000-deep chain stay short (and the work linear).
size_t write_text(std::ostream& out, const View& v, size_t width, bool keys) {
  constexpr size_t kMaxDrawn = 40;
  std::string last_host;
  // A line is a process, or (label set) a remote logon whose roots follow as its children.
  struct Item { size_t v; std::string prefix; bool last; bool root; size_t depth = 0; const RemoteLogon* logon = nullptr; };
  size_t shown = 0;
  std::vector<Item> stack;
  for (auto it = v.roots.rbegin(); it != v.roots.rend(); ++it) stack.push_back({*it, "", true, true});
  while (!stack.empty()) {
    Item item = stack.back();
    stack.pop_back();
    const Node& n = v.nodes[item.v];
    if (item.root && n.host != last_host) {
      out << (last_host.empty() ? "" : "\n") << "== " << n.host << "  (times UTC)\n";
      last_host = n.host;
    }
    std::string branch = item.root ? "" : (item.last ? "└─ " : "├─ ");
    std::string deep = item.depth > kMaxDrawn ? fmt::format("[depth {}] ", item.depth) : "";
    std::string head = item.prefix + branch + deep;
    size_t head_width = display_width(head);
    const size_t room = width > head_width ? width - head_width : width ? 1 : 0;
    out << cut_end(head + (item.logon ? item.logon->label : describe(n, room, keys)), width) << "\n";
    if (!item.logon) ++shown;
    std::string child_prefix = item.root ? "" : item.depth >= kMaxDrawn ? item.prefix : item.prefix + (item.last ? "   " : "│  ");
    std::vector<Item> next;
    if (item.logon) {
      for (size_t root : item.logon->roots) next.push_back({root, child_prefix, false, false, item.depth + 1});
    } else {
      for (size_t k : v.kept_children(item.v)) next.push_back({k, child_prefix, false, false, item.depth + 1});
      if (auto r = v.remote.find(item.v); r != v.remote.end())
        for (const RemoteLogon& l : r->second) next.push_back({item.v, child_prefix, false, false, item.depth + 1, &l});
    }
    if (!next.empty()) next.back().last = true;
    for (auto it = next.rbegin(); it != next.rend(); ++it) stack.push_back(*it);
  }
  return shown;
}

}  // namespace

Expected<size_t> write_tree(std::ostream& out, store::Db& db, const TreeOptions& o, Format format) {
  if (auto s = graph::require_current_graph(db); !s) return s.error();
  if ((o.ancestors_only || o.descendants_only) && o.process_key.empty() && !o.pid)
    return Error{ErrorCode::kUsage, "--ancestors and --descendants need a process (--process KEY, or --pid with --at)"};
  // Following logons crosses hosts: the forest of every host, the host filter applied after.
  auto forest = graph::load_forest(db, o.follow_logons ? std::string() : host_short_name(o.host));
  if (!forest) return forest.error();
  View v{forest->nodes, forest->links, {}, {}, {}};
  if (auto s = select(v, *forest, o); !s) return s.error();
  if (o.follow_logons)
    if (auto s = follow_logons(v, *forest, db); !s) return s.error();
  if (format == Format::kJson) return write_json(out, v);
  if (format == Format::kCsv) return write_csv(out, v, o.follow_logons);
  return write_text(out, v, o.width, o.keys);
}

Expected<Table> pid_candidates(store::Db& db, const std::string& host, int64_t pid) {
  if (auto s = graph::require_current_graph(db); !s) return s.error();
  return store::run_query(
      db,
      "SELECT p.host, p.pid, strftime('%Y-%m-%d %H:%M:%S', (p.start_time - 116444736000000000) / 10000000, 'unixepoch') "
      "AS started, CASE WHEN p.end_time IS NOT NULL THEN strftime('%Y-%m-%d %H:%M:%S', (p.end_time - 116444736000000000) "
      "/ 10000000, 'unixepoch') END AS ended, p.image, p.user_name, p.command_line, p.process_key FROM processes p "
      "WHERE p.pid = ?1 AND (?2 = '' OR p.host = ?2) AND p.source <> 'placeholder' "
      "ORDER BY p.host, p.start_time, p.process_key",
      {Cell{pid}, Cell{host_short_name(host)}});
}

}  // namespace treeline::report
