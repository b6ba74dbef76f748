#include "graph/services.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/regex.hpp"
#include "core/text.hpp"
#include "graph/join_indexes.hpp"

namespace treeline::graph {
namespace {

constexpr int64_t kSecond = 10'000'000;
constexpr int64_t kInstallerWindow = 60 * kSecond;      // the command that creates it, just before
constexpr int64_t kServiceStartWindow = 600 * kSecond;  // the service's first run, after

struct Proc {
  int64_t start = 0;
  std::string key, session, image, command_line;
};

}  // namespace

// The executable an ImagePath runs, lower-case, as a process image would name it:
// `"C:\x\y.exe" /svc` and `%SystemRoot%\x.exe -k` and `\SystemRoot\x.sys` and `\??\C:\x.exe`.
std::string service_executable(std::string_view image_path) {
  std::string p = to_lower_ascii(image_path);
  if (!p.empty() && p.front() == '"') {
    p = p.substr(1, p.find('"', 1) == std::string::npos ? std::string::npos : p.find('"', 1) - 1);
  } else if (auto exe = p.find(".exe"); exe != std::string::npos) {
    p = p.substr(0, exe + 4);
  } else if (auto space = p.find(' '); space != std::string::npos) {
    p = p.substr(0, space);
  }
  for (const std::string_view prefix : {"\\??\\", "\\\\?\\"})
    if (p.rfind(prefix, 0) == 0) p = p.substr(prefix.size());
  for (const std::string_view root : {"%systemroot%", "\\systemroot", "%windir%"})
    if (p.rfind(root, 0) == 0) p = "c:\\windows" + p.substr(root.size());
  if (p.rfind("system32\\", 0) == 0) p = "c:\\windows\\" + p;
  return p;
}

Expected<ServiceStats> write_services(store::Db& db, JoinIndexes& indexes) {
  ServiceStats stats;
  if (auto s = db.exec("DELETE FROM service_install_links"); !s) return s.error();
  auto any = any_event_with_id(db, "7045, 4697");
  if (!any) return any.error();
  if (!*any) return stats;
  auto sessions = indexes.sessions();
  if (!sessions) return sessions.error();
  // Per host: the processes services.exe started, and the processes whose command line creates a
  // service, each by start.
  static const Regex kScCreate = *Regex::compile(R"((?i)\bsc(?:\.exe)?\b.*?\bcreate\s+"?([^"\s]+))");
  static const Regex kNewService = *Regex::compile(R"((?i)\bnew-service\b.*?-name\s+['"]?([^'"\s]+))");
  std::map<std::string, std::vector<Proc>> services_children;
  std::map<std::string, std::vector<std::pair<std::string, Proc>>> creators;  // (service name, process)
  // SQLite narrows both sets first (LIKE is case-insensitive for ASCII); the regexes decide.
  auto st = db.prepare(
      "SELECT p.host, p.start_time, p.process_key, coalesce(p.session_key, ''), coalesce(p.image, ''), "
      "coalesce(p.command_line, ''), lower(coalesce(pp.image, '')) FROM processes p "
      "LEFT JOIN process_edges e ON e.child_key = p.process_key LEFT JOIN processes pp ON pp.process_key = e.parent_key "
      "WHERE p.source <> 'placeholder' AND p.start_time IS NOT NULL AND (p.command_line LIKE '%create%' OR "
      "p.command_line LIKE '%new-service%' OR pp.image LIKE '%\\services.exe') ORDER BY p.host, p.start_time, p.process_key");
  if (!st) return st.error();
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    Proc p{st->column_int(1), st->column_text(2), st->column_text(3), st->column_text(4), st->column_text(5)};
    const std::string host = st->column_text(0), parent = st->column_text(6);
    for (const Regex* re : {&kScCreate, &kNewService})
      if (auto m = re->find(p.command_line)) creators[host].emplace_back(to_lower_ascii(m->group1), p);
    if (base_name(parent) == "services.exe") services_children[host].push_back(std::move(p));
  }
  if (rc != SQLITE_DONE) return db.error("reading the processes for service installs");

  auto ev = db.prepare(
      "SELECT e.event_pk, h.short_name, e.time, e.event_id, coalesce(d.data, '{}') FROM events e "
      "JOIN channels c ON c.channel_id = e.channel_id JOIN hosts h ON h.host_id = e.host_id "
      "LEFT JOIN event_data d ON d.event_pk = e.event_pk "
      "WHERE (e.event_id = 7045 AND c.name = 'System') OR (e.event_id = 4697 AND c.name = 'Security') "
      "ORDER BY e.event_pk");
  if (!ev) return ev.error();
  auto ins = db.prepare(
      "INSERT INTO service_install_links (event_pk, service_name, image_path, service_type, start_type, account, "
      "installer_process_key, installer_session_key, installer_method, service_process_key, service_link_method) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins) return ins.error();
  auto put = [&](int i, const std::string& v) { ins->bind_text_or_null(i, v); };
  while ((rc = ev->step()) == SQLITE_ROW) {
    const std::string host = ev->column_text(1);
    const int64_t time = ev->column_int(2);
    const bool security = ev->column_int(3) == 4697;
    auto data = nlohmann::json::parse(ev->column_text(4), nullptr, false);
    if (!data.is_object()) data = nlohmann::json::object();  // a damaged record's data: names nothing
    const std::string name = data_field(data, "ServiceName");
    const std::string image = data_field(data, security ? "ServiceFileName" : "ImagePath");
    std::string installer, session, method = "none", service_process;
    // The latest command that created this name within the minute before.
    if (auto c = creators.find(host); c != creators.end() && !name.empty())
      for (const auto& [created, p] : c->second)
        if (created == to_lower_ascii(name) && p.start <= time && time - p.start <= kInstallerWindow) {
          installer = p.key;
          session = p.session;
          method = "command_line";
        }
    if (installer.empty() && security)
      if (auto id = parse_windows_int(data_field(data, "SubjectLogonId"))) {
        session = (*sessions)->at(host, *id, time);
        if (!session.empty()) method = "logon_id";
      }
    // The service's first run: services.exe's first child with its executable after the install.
    const std::string exe = service_executable(image);
    if (auto c = services_children.find(host); c != services_children.end() && !exe.empty())
      for (const Proc& p : c->second)
        if (p.start >= time && p.start - time <= kServiceStartWindow && to_lower_ascii(p.image) == exe) {
          service_process = p.key;
          break;
        }
    ins->reset();
    ins->bind(1, ev->column_int(0));
    put(2, name);
    put(3, image);
    put(4, data_field(data, "ServiceType"));
    put(5, data_field(data, security ? "ServiceStartType" : "StartType"));
    put(6, data_field(data, security ? "ServiceAccount" : "AccountName"));
    put(7, installer);
    put(8, session);
    put(9, method);
    put(10, service_process);
    put(11, service_process.empty() ? "none" : "services_child_image");
    if (ins->step() != SQLITE_DONE) return db.error("writing a service install's links");
    ++stats.installs;
    if (method != "none") ++stats.with_installer;
    if (!service_process.empty()) ++stats.with_process;
  }
  if (rc != SQLITE_DONE) return db.error("reading the service installs");
  return stats;
}

}  // namespace treeline::graph
