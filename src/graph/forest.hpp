#pragma once
// The process forest as the verbs read it: every process of the process_tree view (or of one
// host), with its parent link on Boost.Graph. Loaded once by hunt, tree and graph alike; a stage
// that needs more per process loads its own node type (derived from ProcessNode) in the same pass.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/expected.hpp"
#include "graph/process_graph.hpp"
#include "store/sqlite.hpp"

namespace treeline::graph {

// One process_tree row.
struct ProcessNode {
  std::string key, host, image, command_line, user, integrity, elevation, source, parent_key, link_method,
      orphan_reason, session_key, ip, original_file_name, start_iso;
  int64_t pid = 0;
  int boot = 0;
  std::optional<int64_t> start, end, logon_id, logon_type;
  std::optional<double> confidence;
  int64_t candidates = 0;

  bool placeholder() const { return source == "placeholder"; }
};

template <class Node>
struct BasicForest {
  std::vector<Node> nodes;  // by host, then start (unknown last), then key
  ProcessGraph links{0};
  std::unordered_map<std::string, size_t> index;  // process_key -> node

  std::optional<size_t> find(const std::string& key) const {
    auto it = index.find(key);
    return it == index.end() ? std::nullopt : std::optional<size_t>(it->second);
  }
};
using Forest = BasicForest<ProcessNode>;

// How many rows read_process_rows will give, to reserve for them: a vector of large nodes that
// grows by doubling holds two copies of itself while it moves.
Expected<size_t> count_process_rows(store::Db& db, const std::string& host);

// The process_tree rows of every host, or of `host` (a short name), in the forest's order.
Status read_process_rows(store::Db& db, const std::string& host, const std::function<void(ProcessNode&&)>& take);

// Links each node to its parent (by parent_key through `index`), gives a placeholder the
// orphan_reason its children's links carry (why the log does not show it), and seals the graph.
ProcessGraph link_nodes(size_t count, const std::unordered_map<std::string, size_t>& index,
                        const std::function<ProcessNode&(size_t)>& node);

// Every process, or those of `host`, as `Node`s (a ProcessNode, or a type derived from it with
// more members, value-initialised): one vector, filled as the rows come.
template <class Node = ProcessNode>
Expected<BasicForest<Node>> load_forest(store::Db& db, const std::string& host = "") {
  BasicForest<Node> f;
  auto rows = count_process_rows(db, host);
  if (!rows) return rows.error();
  f.nodes.reserve(*rows);
  f.index.reserve(*rows);
  auto s = read_process_rows(db, host, [&](ProcessNode&& n) {
    f.index.emplace(n.key, f.nodes.size());
    Node node{};
    static_cast<ProcessNode&>(node) = std::move(n);
    f.nodes.push_back(std::move(node));
  });
  if (!s) return s.error();
  f.links = link_nodes(f.nodes.size(), f.index, [&](size_t i) -> ProcessNode& { return f.nodes[i]; });
  return f;
}

}  // namespace treeline::graph
