#include "detect/processes.hpp"

#include <fmt/format.h>

#include "core/text.hpp"

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
  auto st = db.prepare(
      "SELECT t.process_key, t.host, t.pid, t.image, t.command_line, t.user_name, t.integrity_level, t.elevation, "
      "t.logon_type, t.ip_address, t.original_file_name, s.special_privileges, s.kind, t.boot, t.start_ft, t.end_ft, "
      "t.source, t.parent_key, sp.product, sp.description "
      "FROM process_tree t LEFT JOIN sessions s ON s.session_key = t.session_key "
      "LEFT JOIN processes pr ON pr.process_key = t.process_key "
      "LEFT JOIN sysmon_process sp ON sp.event_pk = pr.sysmon_event_pk "
      "ORDER BY t.host, t.start_ft IS NULL, t.start_ft, t.process_key");
  if (!st) return st.error();
  Forest f;
  std::vector<std::string> parent_keys;
  std::unordered_map<std::string, size_t> index;
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    Proc p;
    p.key = text(*st, 0);
    p.host = text(*st, 1);
    p.pid = st->column_int(2);
    p.image = text(*st, 3);
    p.command_line = text(*st, 4);
    p.user = text(*st, 5);
    p.integrity = text(*st, 6);
    p.elevation = text(*st, 7);
    p.logon_type = text(*st, 8);
    p.ip = text(*st, 9);
    p.ofn = text(*st, 10);
    std::string kind = text(*st, 12);
    if (kind == "logon") p.session_admin = st->column_int(11) ? "true" : "false";
    else if (kind == "well_known") p.session_admin = "true";
    p.boot = static_cast<int>(st->column_int(13));
    if (!st->column_is_null(14)) p.start = st->column_int(14);
    if (!st->column_is_null(15)) p.end = st->column_int(15);
    p.placeholder = text(*st, 16) == "placeholder";
    // Sysmon writes "-" (or "?") when the PE has no version resource: nothing to compare.
    if (p.ofn == "-" || p.ofn == "?") p.ofn.clear();
    std::string product = text(*st, 18), description = text(*st, 19);
    p.product = !product.empty() && product != "-" ? product : description;
    if (!p.ofn.empty() && !p.image.empty()) p.renamed = is_renamed(p.image, p.ofn, product, description) ? "true" : "false";
    index.emplace(p.key, f.procs.size());
    parent_keys.push_back(text(*st, 17));
    f.procs.push_back(std::move(p));
  }
  if (rc != SQLITE_DONE) return db.error("reading the process tree");
  f.links = graph::ProcessGraph(f.procs.size());
  for (size_t i = 0; i < f.procs.size(); ++i)
    if (auto it = index.find(parent_keys[i]); !parent_keys[i].empty() && it != index.end()) f.links.add_link(it->second, i);
  for (size_t i = 0; i < f.procs.size(); ++i)
    if (!f.procs[i].placeholder) f.by_pid[fmt::format("{}\x1f{}", f.procs[i].host, f.procs[i].pid)].push_back(i);
  return f;
}

}  // namespace treeline::detect
