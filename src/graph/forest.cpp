#include "graph/forest.hpp"

namespace treeline::graph {
namespace {

std::optional<int64_t> integer(const store::Stmt& st, int i) {
  return st.column_is_null(i) ? std::nullopt : std::optional<int64_t>(st.column_int(i));
}

}  // namespace

std::optional<size_t> Forest::find(const std::string& key) const {
  auto it = index.find(key);
  return it == index.end() ? std::nullopt : std::optional<size_t>(it->second);
}

Expected<Forest> load_forest(store::Db& db, const std::string& host) {
  Forest f;
  // Reserved from a count: a vector of large nodes that grows by doubling holds two copies of
  // itself while it moves.
  auto rows = db.prepare("SELECT count(*) FROM processes WHERE (?1 = '' OR host = ?1)");
  if (!rows) return rows.error();
  rows->bind(1, std::string_view(host));
  if (rows->step() != SQLITE_ROW) return db.error("counting the processes");
  f.nodes.reserve(static_cast<size_t>(rows->column_int(0)));
  f.index.reserve(f.nodes.capacity());
  auto st = db.prepare(
      "SELECT process_key, host, boot, pid, image, command_line, start_ft, end_ft, start_time, user_name, logon_id, "
      "logon_type, integrity_level, elevation, source, parent_key, link_method, link_confidence, link_candidates, "
      "orphan_reason, session_key, ip_address, original_file_name FROM process_tree "
      "WHERE (?1 = '' OR host = ?1) ORDER BY host, start_ft IS NULL, start_ft, process_key");
  if (!st) return st.error();
  st->bind(1, std::string_view(host));
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    ProcessNode n;
    n.key = st->column_text(0);
    n.host = st->column_text(1);
    n.boot = static_cast<int>(st->column_int(2));
    n.pid = st->column_int(3);
    n.image = st->column_text(4);
    n.command_line = st->column_text(5);
    n.start = integer(*st, 6);
    n.end = integer(*st, 7);
    n.start_iso = st->column_text(8);
    n.user = st->column_text(9);
    n.logon_id = integer(*st, 10);
    n.logon_type = integer(*st, 11);
    n.integrity = st->column_text(12);
    n.elevation = st->column_text(13);
    n.source = st->column_text(14);
    n.parent_key = st->column_text(15);
    n.link_method = st->column_text(16);
    if (!st->column_is_null(17)) n.confidence = st->column_double(17);
    n.candidates = integer(*st, 18).value_or(0);
    n.orphan_reason = st->column_text(19);
    n.session_key = st->column_text(20);
    n.ip = st->column_text(21);
    n.original_file_name = st->column_text(22);
    f.index.emplace(n.key, f.nodes.size());
    f.nodes.push_back(std::move(n));
  }
  if (rc != SQLITE_DONE) return db.error("reading the process tree");
  f.links = ProcessGraph(f.nodes.size());
  for (size_t i = 0; i < f.nodes.size(); ++i) {
    const ProcessNode& n = f.nodes[i];
    if (n.parent_key.empty()) continue;
    auto p = f.index.find(n.parent_key);
    if (p == f.index.end()) continue;
    f.links.add_link(p->second, i);
    // A placeholder stands for a parent the log never showed; its children's links say why.
    ProcessNode& parent = f.nodes[p->second];
    if (n.link_method == "placeholder" && parent.orphan_reason.empty()) parent.orphan_reason = n.orphan_reason;
  }
  f.links.seal();  // the hunt's Sigma readers walk it from several threads
  return f;
}

}  // namespace treeline::graph
