#include "graph/process_graph.hpp"

#include <boost/graph/depth_first_search.hpp>
#include <boost/graph/topological_sort.hpp>

#include <iterator>
#include <stdexcept>

namespace treeline::graph {

void ProcessGraph::add_link(size_t parent, size_t child) {
  if (parent >= vertices_ || child >= vertices_ || vertices_ > UINT32_MAX)
    throw std::out_of_range("ProcessGraph::add_link: no such process");
  links_.emplace_back(static_cast<uint32_t>(parent), static_cast<uint32_t>(child));
  graph_.reset();
}

const ProcessGraph::Graph& ProcessGraph::graph() const {
  if (!graph_) {
    // Boost places the links by parent in one stable pass (histogram_sort), so each parent's
    // children keep the order they were linked in.
    graph_.emplace(boost::edges_are_unsorted_multi_pass, links_.begin(), links_.end(), static_cast<uint32_t>(vertices_));
  }
  return *graph_;
}

std::vector<size_t> ProcessGraph::children(size_t v) const {
  const Graph& g = graph();
  std::vector<size_t> out;
  for (auto [it, end] = boost::out_edges(static_cast<uint32_t>(v), g); it != end; ++it) out.push_back(boost::target(*it, g));
  return out;
}

std::optional<size_t> ProcessGraph::parent(size_t v) const {
  const Graph& g = graph();
  auto [it, end] = boost::in_edges(static_cast<uint32_t>(v), g);
  if (it == end) return std::nullopt;
  return boost::source(*it, g);
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
  const Graph& g = graph();
  for (uint32_t v = 0; v < vertices_; ++v)
    if (boost::in_degree(v, g) > 1) return false;
  std::vector<uint32_t> order;
  try {
    boost::topological_sort(g, std::back_inserter(order));
  } catch (const boost::not_a_dag&) {
    return false;
  }
  return true;
}

}  // namespace treeline::graph
