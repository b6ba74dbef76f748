#include "detect/hunt.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>

#include "core/text.hpp"
#include "graph/process_graph.hpp"

namespace treeline::detect {
namespace {

struct Proc {
  std::string key, host, image, command_line, user, integrity, elevation, logon_type, ip, ofn, session_admin, renamed;
  int64_t pid = 0;
  int boot = 0;
  std::optional<int64_t> start, end;
  bool placeholder = false;

  const std::string& field(const std::string& name) const {
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
};

std::string text(store::Stmt& st, int i) { return st.column_is_null(i) ? std::string() : st.column_text(i); }

std::string base_name_lower(const std::string& path) { return to_lower_ascii(base_name(path)); }

bool step_matches(const Step& s, const Proc& p, nlohmann::ordered_json* matched) {
  for (const auto& c : s.all_of)
    if (!c.matches(p.field(c.field))) return false;
  for (const auto& c : s.none_of) {
    const std::string& v = p.field(c.field);
    if (v.empty() || c.matches(v)) return false;  // unknown, or excluded
  }
  if (matched)
    for (const auto& c : s.all_of) (*matched)[c.field] = p.field(c.field);
  return true;
}

}  // namespace

std::optional<std::string> decode_powershell(const std::string& cmd) {
  // Any prefix of -EncodedCommand from -e on, or -ec; PowerShell accepts them all.
  static const Regex kEnc = *Regex::compile(
      R"((?:^|\s)[-/](?:e|ec|en|enc|enco|encod|encode|encoded|encodedc|encodedco|encodedcom|encodedcomm|encodedcomma|encodedcomman|encodedcommand)\s+([A-Za-z0-9+/=]{8,}))",
      {.case_insensitive = true});
  auto m = kEnc.find(cmd);
  if (!m) return std::nullopt;
  std::string b64(m->group1);
  while (b64.size() % 4) b64.push_back('=');
  std::string raw(b64.size() / 4 * 3 + 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()), reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) return std::nullopt;
  size_t pad = static_cast<size_t>(std::count(b64.end() - 2, b64.end(), '='));
  raw.resize(static_cast<size_t>(n) - std::min(pad, static_cast<size_t>(n)));
  // UTF-16LE to UTF-8 (the BMP is what scripts use; surrogates are passed through as '?').
  std::string out;
  for (size_t i = 0; i + 1 < raw.size(); i += 2) {
    uint32_t c = static_cast<unsigned char>(raw[i]) | (static_cast<unsigned char>(raw[i + 1]) << 8);
    if (c < 0x80) out.push_back(static_cast<char>(c));
    else if (c < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
    } else if (c >= 0xd800 && c < 0xe000) {
      out.push_back('?');
    } else {
      out.push_back(static_cast<char>(0xe0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
    }
  }
  if (out.empty()) return std::nullopt;
  return out;
}

Expected<HuntStats> hunt(store::Db& db, const std::vector<Rule>& rules) {
  auto st = db.prepare(
      "SELECT t.process_key, t.host, t.pid, t.image, t.command_line, t.user_name, t.integrity_level, t.elevation, "
      "t.logon_type, t.ip_address, t.original_file_name, s.special_privileges, s.kind, t.boot, t.start_ft, t.end_ft, "
      "t.source, t.parent_key "
      "FROM process_tree t LEFT JOIN sessions s ON s.session_key = t.session_key "
      "ORDER BY t.host, t.start_ft IS NULL, t.start_ft, t.process_key");
  if (!st) return st.error();
  std::vector<Proc> procs;
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
    if (!p.ofn.empty() && !p.image.empty()) {
      // "psexec.c" vs "update.exe": compare names without extensions; a build variant such as
      // procdump64.exe of "procdump" is the same tool.
      auto stem = [](std::string n) { return n.substr(0, n.find('.')); };
      std::string a = stem(to_lower_ascii(p.ofn)), b = stem(base_name_lower(p.image));
      bool same = a == b || (!a.empty() && b.rfind(a, 0) == 0) || (!b.empty() && a.rfind(b, 0) == 0);
      p.renamed = same ? "false" : "true";
    }
    index.emplace(p.key, procs.size());
    parent_keys.push_back(text(*st, 17));
    procs.push_back(std::move(p));
  }
  if (rc != SQLITE_DONE) return db.error("reading the process tree");
  graph::ProcessGraph g(procs.size());
  for (size_t i = 0; i < procs.size(); ++i)
    if (auto it = index.find(parent_keys[i]); !parent_keys[i].empty() && it != index.end()) g.add_link(it->second, i);
  std::unordered_map<std::string, std::vector<size_t>> by_pid;
  for (size_t i = 0; i < procs.size(); ++i)
    if (!procs[i].placeholder) by_pid[fmt::format("{}\x1f{}", procs[i].host, procs[i].pid)].push_back(i);

  // The process that held `pid` on that host when `at` happened.
  auto resolve = [&](const Proc& at, int64_t pid) -> std::optional<size_t> {
    auto it = by_pid.find(fmt::format("{}\x1f{}", at.host, pid));
    if (it == by_pid.end()) return std::nullopt;
    std::optional<size_t> best;
    for (size_t i : it->second) {
      const Proc& p = procs[i];
      if (p.boot != at.boot || !p.start || *p.start > *at.start) continue;
      if (p.end && *p.end < *at.start) continue;
      best = i;
    }
    return best;
  };

  struct Finding {
    const Rule* rule;
    size_t process;
    std::vector<size_t> chain;
    nlohmann::ordered_json matched;
    std::string detail;
    std::string target_key;
  };
  std::vector<Finding> found;
  HuntStats stats;
  stats.processes = static_cast<int64_t>(procs.size());
  for (const Rule& rule : rules) {
    for (size_t i = 0; i < procs.size(); ++i) {
      const Proc& p = procs[i];
      if (p.placeholder) continue;
      nlohmann::ordered_json matched = nlohmann::ordered_json::object();
      if (!step_matches(rule.chain.back(), p, &matched)) continue;
      // Walk up the tree for the earlier steps, nearest match first.
      std::vector<size_t> chain = {i};
      size_t cur = i;
      bool ok = true;
      for (size_t s = rule.chain.size() - 1; s-- > 0 && ok;) {
        bool descendant = rule.chain[s + 1].descendant;
        ok = false;
        for (auto up = g.parent(cur); up; up = g.parent(*up)) {
          if (step_matches(rule.chain[s], procs[*up], nullptr)) {
            chain.push_back(*up);
            cur = *up;
            ok = true;
            break;
          }
          if (!descendant) break;
        }
      }
      if (!ok) continue;
      std::reverse(chain.begin(), chain.end());
      Finding f{&rule, i, chain, matched, "", ""};
      if (rule.target) {
        const TargetSpec& t = *rule.target;
        bool confirmed = false;
        if (auto m = t.name ? t.name->find(p.command_line) : std::nullopt) {
          confirmed = true;
          f.detail = fmt::format("target named in the command line: {}", m->whole);
        }
        if (auto m = t.pid ? t.pid->find(p.command_line) : std::nullopt) {
          // A PID is a 32-bit number; anything longer names no process (and must not stop the hunt).
          auto pid = parse_windows_int(m->group1);
          if (!pid || *pid < 0 || *pid > 0xffffffffLL) {
            f.detail = fmt::format("target PID '{}' is not a PID", cut_middle(m->group1, 40));
          } else if (auto ti = resolve(p, *pid)) {
            const Proc& tp = procs[*ti];
            bool is_target = !t.image || t.image->matches(tp.image);
            confirmed = confirmed || is_target;
            f.target_key = tp.key;
            f.detail = fmt::format("target PID {} was {} ({}) at the time{}", *pid, base_name_lower(tp.image), tp.key,
                                   is_target ? "" : ": not the expected target");
          } else {
            f.detail = fmt::format("target PID {}: no logged process held it at the time", *pid);
          }
        }
        if (t.required && !confirmed) continue;
      }
      if (rule.decode == "powershell_base64")
        if (auto d = decode_powershell(p.command_line)) f.detail = "decoded: " + *d;
      found.push_back(std::move(f));
    }
  }

  if (auto s = db.exec("BEGIN IMMEDIATE"); !s) return db.error("starting the hunt");
  auto fail = [&](const Error& e) {
    (void)db.exec("ROLLBACK");
    return e;
  };
  if (auto s = db.exec("DELETE FROM findings"); !s) return fail(s.error());
  auto ins = db.prepare(
      "INSERT INTO findings (kind, rule_id, title, severity, action, attack, log_id, host, time, process_key, chain, "
      "matched, detail, target_key, user_name, logon_type, ip_address) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins) return fail(ins.error());
  auto put = [&](store::Stmt& q, int i, const std::string& v) {
    if (v.empty()) q.bind_null(i); else q.bind(i, std::string_view(v));
  };
  for (const Finding& f : found) {
    const Proc& p = procs[f.process];
    nlohmann::json chain = nlohmann::json::array();
    for (size_t c : f.chain) chain.push_back(procs[c].key);
    std::string attack;
    for (const auto& a : f.rule->attack) attack += (attack.empty() ? "" : ",") + a;
    store::Stmt& q = *ins;
    q.reset();
    q.bind(1, std::string_view("detection"));
    q.bind(2, std::string_view(f.rule->id));
    q.bind(3, std::string_view(f.rule->title));
    q.bind(4, std::string_view(f.rule->severity));
    q.bind(5, std::string_view(f.rule->action));
    put(q, 6, attack);
    put(q, 7, f.rule->log_id);
    q.bind(8, std::string_view(p.host));
    if (p.start) q.bind(9, *p.start); else q.bind_null(9);
    q.bind(10, std::string_view(p.key));
    q.bind(11, std::string_view(chain.dump()));
    q.bind(12, std::string_view(f.matched.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
    put(q, 13, f.detail);
    put(q, 14, f.target_key);
    put(q, 15, p.user);
    if (auto lt = parse_windows_int(p.logon_type)) q.bind(16, *lt); else q.bind_null(16);
    put(q, 17, p.ip);
    if (q.step() != SQLITE_DONE) return fail(db.error("writing a finding"));
    ++stats.detections;
    ++stats.by_rule[f.rule->id];
  }
  // Coverage: what the logs cannot show, per host.
  const char* kCoverage = R"sql(
    INSERT INTO findings (kind, rule_id, title, severity, action, host, time, detail)
    SELECT 'coverage', 'coverage_command_line_missing', 'Process creations without a command line', 'informational',
           'audit_coverage_gap', h.short_name, min(e.time),
           printf('%d of %d process creations (4688) have no CommandLine: command-line auditing is off', sum(coalesce(pc.command_line, '') = ''), count(*))
    FROM sec_process_create pc JOIN events e USING (event_pk) JOIN hosts h USING (host_id)
    GROUP BY h.short_name HAVING sum(coalesce(pc.command_line, '') = '') > 0;
    INSERT INTO findings (kind, rule_id, title, severity, action, host, time, detail)
    SELECT 'coverage', 'coverage_parent_name_missing', 'Process creations without ParentProcessName', 'informational',
           'audit_coverage_gap', h.short_name, min(e.time),
           printf('%d of %d process creations are 4688 version 0/1, which name the parent only by PID', sum(e.version < 2), count(*))
    FROM sec_process_create pc JOIN events e USING (event_pk) JOIN hosts h USING (host_id)
    GROUP BY h.short_name HAVING sum(e.version < 2) > 0;
    INSERT INTO findings (kind, rule_id, title, severity, action, host, time, detail)
    SELECT 'coverage', 'coverage_no_process_auditing', 'No process creation events on this host', 'informational',
           'audit_coverage_gap', h.short_name, min(e.time),
           printf('%d events from this host, none of them a 4688 or Sysmon 1: no process tree can be built', count(*))
    FROM events e JOIN hosts h USING (host_id)
    GROUP BY h.short_name
    HAVING sum(e.event_pk IN (SELECT event_pk FROM sec_process_create)) = 0
       AND sum(e.event_pk IN (SELECT sp.event_pk FROM sysmon_process sp JOIN events e2 ON e2.event_pk = sp.event_pk WHERE e2.event_id = 1)) = 0;
    INSERT INTO findings (kind, rule_id, title, severity, action, attack, host, time, detail, user_name)
    SELECT 'coverage', 'coverage_log_cleared', 'Security log cleared', 'medium', 'audit_log_cleared', 'T1070.001',
           h.short_name, e.time, printf('1102 by %s\%s (logon 0x%x): everything before it in this log is gone',
           lc.subject_domain_name, lc.subject_user_name, lc.subject_logon_id),
           lc.subject_domain_name || '\' || lc.subject_user_name
    FROM sec_log_cleared lc JOIN events e USING (event_pk) JOIN hosts h USING (host_id);
  )sql";
  if (auto s = db.exec(kCoverage); !s) return fail(s.error());
  auto cov = db.query_int("SELECT count(*) FROM findings WHERE kind = 'coverage'");
  if (!cov) return fail(cov.error());
  stats.coverage = *cov;
  if (auto s = db.exec("COMMIT"); !s) return db.error("committing the findings");
  return stats;
}

}  // namespace treeline::detect
