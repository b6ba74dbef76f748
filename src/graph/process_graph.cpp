#include "graph/process_graph.hpp"

#include <boost/graph/depth_first_search.hpp>
#include <boost/graph/topological_sort.hpp>

#include <iterator>

namespace treeline::graph {

std::vector<size_t> ProcessGraph::children(size_t v) const {
  std::vector<size_t> out;
  for (auto [it, end] = boost::out_edges(v, g_); it != end; ++it) out.push_back(boost::target(*it, g_));
  return out;
}

std::optional<size_t> ProcessGraph::parent(size_t v) const {
  auto [it, end] = boost::in_edges(v, g_);
  if (it == end) return std::nullopt;
  return boost::source(*it, g_);
}

std::vector<size_t> ProcessGraph::ancestors(size_t v) const {
  std::vector<size_t> out;
  std::vector<bool> seen(size(), false);
  seen[v] = true;
  for (auto p = parent(v); p && !seen[*p]; p = parent(*p)) {
    seen[*p] = true;
    out.push_back(*p);
  }
  return out;
}

std::vector<size_t> ProcessGraph::descendants(size_t v) const {
  std::vector<size_t> out;
  std::vector<bool> seen(size(), false);
  std::vector<size_t> stack = {v};
  seen[v] = true;
  while (!stack.empty()) {
    size_t cur = stack.back();
    stack.pop_back();
    if (cur != v) out.push_back(cur);
    auto kids = children(cur);
    for (auto it = kids.rbegin(); it != kids.rend(); ++it)
      if (!seen[*it]) {
        seen[*it] = true;
        stack.push_back(*it);
      }
  }
  return out;
}

bool ProcessGraph::is_forest() const {
  for (size_t v = 0; v < size(); ++v)
    if (boost::in_degree(v, g_) > 1) return false;
  std::vector<Vertex> order;
  try {
    boost::topological_sort(g_, std::back_inserter(order));
  } catch (const boost::not_a_dag&) {
    return false;
  }
  return true;
}

}  // namespace treeline::graph
