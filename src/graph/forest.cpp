#include "graph/forest.hpp"

namespace treeline::graph {
namespace {

std::string text(const store::Stmt& st, int i) { return st.column_is_null(i) ? std::string() : st.column_text(i); }
std::optional<int64_t> integer(const store::Stmt& st, int i) {
  return st.column_is_null(i) ? std::nullopt : std::optional<int64_t>(st.column_int(i));
}

}  // namespace

Expected<size_t> count_process_rows(store::Db& db, const std::string& host) {
  auto st = db.prepare("SELECT count(*) FROM processes WHERE (?1 = '' OR host = ?1)");
  if (!st) return st.error();
  st->bind(1, std::string_view(host));
  if (st->step() != SQLITE_ROW) return db.error("counting the processes");
  return static_cast<size_t>(st->column_int(0));
}

Status read_process_rows(store::Db& db, const std::string& host, const std::function<void(ProcessNode&&)>& take) {
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
    n.key = text(*st, 0);
    n.host = text(*st, 1);
    n.boot = static_cast<int>(st->column_int(2));
    n.pid = st->column_int(3);
    n.image = text(*st, 4);
    n.command_line = text(*st, 5);
    n.start = integer(*st, 6);
    n.end = integer(*st, 7);
    n.start_iso = text(*st, 8);
    n.user = text(*st, 9);
    n.logon_id = integer(*st, 10);
    n.logon_type = integer(*st, 11);
    n.integrity = text(*st, 12);
    n.elevation = text(*st, 13);
    n.source = text(*st, 14);
    n.parent_key = text(*st, 15);
    n.link_method = text(*st, 16);
    if (!st->column_is_null(17)) n.confidence = st->column_double(17);
    n.candidates = integer(*st, 18).value_or(0);
    n.orphan_reason = text(*st, 19);
    n.session_key = text(*st, 20);
    n.ip = text(*st, 21);
    n.original_file_name = text(*st, 22);
    take(std::move(n));
  }
  if (rc != SQLITE_DONE) return db.error("reading the process tree");
  return ok_status();
}

ProcessGraph link_nodes(size_t count, const std::unordered_map<std::string, size_t>& index,
                        const std::function<ProcessNode&(size_t)>& node) {
  ProcessGraph links(count);
  for (size_t i = 0; i < count; ++i) {
    const ProcessNode& n = node(i);
    if (n.parent_key.empty()) continue;
    auto p = index.find(n.parent_key);
    if (p == index.end()) continue;
    links.add_link(p->second, i);
    // A placeholder stands for a parent the log never showed; its children's links say why.
    ProcessNode& parent = node(p->second);
    if (n.link_method == "placeholder" && parent.orphan_reason.empty()) parent.orphan_reason = n.orphan_reason;
  }
  links.seal();  // the hunt's Sigma readers walk it from several threads
  return links;
}

}  // namespace treeline::graph
