#pragma once
// The process forest on Boost.Graph: vertices are processes, edges run parent -> child.
// Used to check that the links form a forest and to walk ancestors and descendants.
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/compressed_sparse_row_graph.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace treeline::graph {

class ProcessGraph {
 public:
  // Compressed sparse rows with 32-bit indices, built once the links are in: a case holds
  // hundreds of thousands of processes, and an adjacency_list took about 100 bytes for each
  // where this takes about 20.
  using Graph = boost::compressed_sparse_row_graph<boost::bidirectionalS, boost::no_property, boost::no_property,
                                                   boost::no_property, uint32_t, uint32_t>;
  // A small graph to draw with write_graphviz, which needs vertices added one by one.
  using Drawing = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS>;

  explicit ProcessGraph(size_t vertices) : vertices_(vertices) {}
  void add_link(size_t parent, size_t child);
  // Builds the graph from the links now. The reads below build it on first use otherwise, so
  // they are safe from several threads only once it is sealed (load_forest seals what it loads).
  void seal() const { graph(); }

  // Every vertex reachable upwards (parent, grandparent, ...), nearest first.
  std::vector<size_t> ancestors(size_t v) const;
  // Every vertex below v, depth first, in link order.
  std::vector<size_t> descendants(size_t v) const;
  // Children in the order they were linked.
  std::vector<size_t> children(size_t v) const;
  std::optional<size_t> parent(size_t v) const;
  // True when no process is its own ancestor and none has two parents.
  bool is_forest() const;
  size_t size() const { return vertices_; }

 private:
  const Graph& graph() const;

  size_t vertices_;
  std::vector<std::pair<uint32_t, uint32_t>> links_;  // (parent, child) in the order linked
  mutable std::optional<Graph> graph_;                // built from links_ on first use
};

}  // namespace treeline::graph
