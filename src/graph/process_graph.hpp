#pragma once
// The process forest on Boost.Graph: vertices are processes, edges run parent -> child.
// Used to check that the links form a forest and to walk ancestors and descendants.
#include <boost/graph/adjacency_list.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace treeline::graph {

class ProcessGraph {
 public:
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS>;
  using Vertex = Graph::vertex_descriptor;

  explicit ProcessGraph(size_t vertices) : g_(vertices) {}
  void add_link(size_t parent, size_t child) { boost::add_edge(parent, child, g_); }

  // Every vertex reachable upwards (parent, grandparent, ...), nearest first.
  std::vector<size_t> ancestors(size_t v) const;
  // Every vertex below v, depth first, in edge insertion order.
  std::vector<size_t> descendants(size_t v) const;
  std::vector<size_t> children(size_t v) const;
  std::optional<size_t> parent(size_t v) const;
  // True when no process is its own ancestor.
  bool is_forest() const;
  size_t size() const { return boost::num_vertices(g_); }
  const Graph& graph() const { return g_; }

 private:
  Graph g_;
};

}  // namespace treeline::graph
