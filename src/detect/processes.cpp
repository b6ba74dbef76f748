#include "detect/processes.hpp"

#include <fmt/format.h>

#include "core/text.hpp"
#include "graph/forest.hpp"

namespace treeline::detect {
namespace {

std::string text(store::Stmt& st, int i) { return st.column_is_null(i) ? std::string() : st.column_text(i); }

// Lower-case letters and digits only: "Microsoft Edge Update" and "MicrosoftEdgeUpdate" agree.
std::string squeeze(std::string_view s) {
  std::string out;
  for (char c : to_lower_ascii(s))
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) out.push_back(c);
  return out;
}

std::string stem(std::string_view name) { return to_lower_ascii(name.substr(0, name.find('.'))); }

}  // namespace

const std::string& Proc::field(const std::string& name) const {
  static const std::string kEmpty;
  if (name == "image") return image;
  if (name == "command_line") return command_line;
  if (name == "user") return user;
  if (name == "integrity") return integrity;
  if (name == "elevation") return elevation;
  if (name == "logon_type") return logon_type;
  if (name == "source_ip") return ip;
  if (name == "original_file_name") return ofn;
  if (name == "session_admin") return session_admin;
  if (name == "renamed") return renamed;
  if (name == "host") return host;
  return kEmpty;
}

bool is_renamed(const std::string& image, const std::string& ofn, const std::string& product,
                const std::string& description) {
  std::string a = stem(ofn), b = stem(base_name(image));
  if (a.empty() || b.empty()) return false;
  // A build variant of the same tool (procdump64.exe of "procdump").
  if (b.rfind(a, 0) == 0 || a.rfind(b, 0) == 0) return false;
  // The PE's own metadata names the product the image is called after.
  std::string sb = squeeze(b);
  for (const std::string* meta : {&product, &description}) {
    std::string m = squeeze(*meta);
    if (m.size() >= 4 && (m == sb || sb.rfind(m, 0) == 0 || m.rfind(sb, 0) == 0)) return false;
  }
  return true;
}

std::optional<size_t> Forest::resolve_pid(const Proc& at, int64_t pid) const {
  auto it = by_pid.find(fmt::format("{}\x1f{}", at.host, pid));
  if (it == by_pid.end() || !at.start) return std::nullopt;
  std::optional<size_t> best;
  for (size_t i : it->second) {
    const Proc& p = procs[i];
    if (p.boot != at.boot || !p.start || *p.start > *at.start) continue;
    if (p.end && *p.end < *at.start) continue;
    best = i;
  }
  return best;
}

Expected<Forest> load_forest(store::Db& db) {
  auto tree = graph::load_forest(db);
  if (!tree) return tree.error();
  Forest f;
  f.procs.reserve(tree->nodes.size());
  for (graph::ProcessNode& n : tree->nodes) {
    Proc p;
    p.key = std::move(n.key);
    p.host = std::move(n.host);
    p.pid = n.pid;
    p.image = std::move(n.image);
    p.command_line = std::move(n.command_line);
    p.user = std::move(n.user);
    p.integrity = std::move(n.integrity);
    p.elevation = std::move(n.elevation);
    if (n.logon_type) p.logon_type = std::to_string(*n.logon_type);
    p.ip = std::move(n.ip);
    p.ofn = std::move(n.original_file_name);
    // Sysmon writes "-" (or "?") when the PE has no version resource: nothing to compare.
    if (p.ofn == "-" || p.ofn == "?") p.ofn.clear();
    p.boot = n.boot;
    p.start = n.start;
    p.end = n.end;
    p.placeholder = n.placeholder();
    f.procs.push_back(std::move(p));
  }
  f.links = std::move(tree->links);
  // What the rules ask of a process beyond the tree: its session's rights, its PE's metadata.
  auto st = db.prepare(
      "SELECT p.process_key, s.special_privileges, s.kind, sp.product, sp.description FROM processes p "
      "LEFT JOIN sessions s ON s.session_key = p.session_key "
      "LEFT JOIN sysmon_process sp ON sp.event_pk = p.sysmon_event_pk "
      "WHERE s.session_key IS NOT NULL OR sp.event_pk IS NOT NULL");
  if (!st) return st.error();
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    auto it = tree->index.find(st->column_text(0));
    if (it == tree->index.end()) continue;
    Proc& p = f.procs[it->second];
    const std::string kind = text(*st, 2);
    if (kind == "logon") p.session_admin = st->column_int(1) ? "true" : "false";
    else if (kind == "well_known") p.session_admin = "true";
    const std::string product = text(*st, 3), description = text(*st, 4);
    p.product = !product.empty() && product != "-" ? product : description;
    if (!p.ofn.empty() && !p.image.empty()) p.renamed = is_renamed(p.image, p.ofn, product, description) ? "true" : "false";
  }
  if (rc != SQLITE_DONE) return db.error("reading the sessions and PE metadata of the processes");
  for (Proc& p : f.procs)
    if (p.renamed.empty() && !p.ofn.empty() && !p.image.empty()) p.renamed = is_renamed(p.image, p.ofn, "", "") ? "true" : "false";
  for (size_t i = 0; i < f.procs.size(); ++i)
    if (!f.procs[i].placeholder) f.by_pid[fmt::format("{}\x1f{}", f.procs[i].host, f.procs[i].pid)].push_back(i);
  return f;
}

}  // namespace treeline::detect
