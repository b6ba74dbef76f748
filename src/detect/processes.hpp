#pragma once
// The process forest as the rules see it: one Proc per process of the graph, with the fields a
// rule step can test, and the Boost.Graph links between them.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/process_graph.hpp"
#include "store/sqlite.hpp"

namespace treeline::detect {

struct Proc {
  std::string key, host, image, command_line, user, integrity, elevation, logon_type, ip, ofn, session_admin, renamed;
  std::string product;  // Sysmon's PE Product, else Description: what `renamed` was checked against
  int64_t pid = 0;
  int boot = 0;
  std::optional<int64_t> start, end;
  bool placeholder = false;

  // The value of a rule field (rule.hpp's kFields); empty when unknown.
  const std::string& field(const std::string& name) const;
};

struct Forest {
  std::vector<Proc> procs;
  graph::ProcessGraph links{0};
  // The process that held `pid` on `at`'s host, in its boot, when `at` started.
  std::optional<size_t> resolve_pid(const Proc& at, int64_t pid) const;
  std::unordered_map<std::string, std::vector<size_t>> by_pid;  // "host\x1fpid" -> processes
};

Expected<Forest> load_forest(store::Db& db);

// Whether an image is a renamed copy of the PE its OriginalFileName names. The same stem
// (procdump64.exe of procdump) is not; nor is an image named for the PE's product
// (MicrosoftEdgeUpdate.exe of msedgeupdate.dll, product "Microsoft Edge Update").
bool is_renamed(const std::string& image, const std::string& original_file_name, const std::string& product,
                const std::string& description);

}  // namespace treeline::detect
