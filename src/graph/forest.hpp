#pragma once
// The process forest as the verbs read it: every process of the process_tree view (or of one
// host), with its parent link on Boost.Graph. Loaded once by hunt, tree and graph alike.
#include <cstdint>
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

struct Forest {
  std::vector<ProcessNode> nodes;  // by host, then start (unknown last), then key
  ProcessGraph links{0};           // sealed: safe to read from several threads
  std::unordered_map<std::string, size_t> index;  // process_key -> node

  std::optional<size_t> find(const std::string& key) const;
};

// Every process, or those of `host` (a short name) when it is not empty. A placeholder's
// orphan_reason is the one its children's links carry (why the log does not show it).
Expected<Forest> load_forest(store::Db& db, const std::string& host = "");

}  // namespace treeline::graph
