#include "graph/builder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/text.hpp"
#include "graph/process_graph.hpp"

namespace treeline::graph {
namespace {

constexpr int64_t kSecond = 10'000'000LL;
// A process is audited late when the first 4688 of a boot comes this long after the boot.
constexpr int64_t kAuditLag = 120 * kSecond;
// A 4672 belongs to the 4624 it was logged beside.
constexpr int64_t kSpecialWindow = 5 * kSecond;
// The walk over same-PID candidates stops here: enough to tell one from many.
constexpr int kMaxCandidates = 64;

enum class Source { k4688, kSysmon, kBoth, kPlaceholder };
const char* source_name(Source s) {
  switch (s) {
    case Source::k4688: return "4688";
    case Source::kSysmon: return "sysmon";
    case Source::kBoth: return "both";
    case Source::kPlaceholder: return "placeholder";
  }
  return "";
}

// Text that repeats across processes (hosts, images, accounts, labels) is stored once. Views
// into it stay valid: an unordered_set never moves its strings.
class TextPool {
 public:
  std::string_view intern(std::string s) {
    if (s.empty()) return {};
    return *set_.insert(std::move(s)).first;
  }

 private:
  std::unordered_set<std::string> set_;
};

// One process as the builder needs it to link and pivot. Text only the processes table shows
// (command lines, hashes) is not held here: write() takes it from the event tables.
struct Proc {
  std::string_view host;
  int boot = 0;
  int64_t pid = 0;
  std::string_view image;
  std::optional<int64_t> start;
  std::optional<int64_t> end;
  Source source = Source::k4688;
  int64_t create_pk = 0, sysmon_pk = 0, exit_pk = 0;
  std::string guid, parent_guid;
  std::optional<int64_t> ppid;
  std::string_view parent_image;
  std::string_view user_sid, user_name, user_domain;
  std::optional<int64_t> logon_id;
  std::string_view integrity, elevation;
  std::string key, session_key;
};

struct Edge {
  size_t parent;
  const char* method;
  int candidates;
  double confidence;
  const char* orphan_reason;  // null unless placeholder
};

struct Session {
  std::string key;
  std::string_view host;
  int boot = 0;
  int64_t logon_id = 0;
  const char* kind = "logon";
  int64_t event_pk = 0;
  std::optional<int64_t> start, end, logon_type, ip_port, linked;
  // Interned in the builder's TextPool (or string literals).
  std::string_view user_sid, user_name, user_domain, ip, workstation, auth, logon_process, elevated;
  std::string linked_key;
  bool special = false;
};

struct HostInfo {
  std::vector<int64_t> boundaries;  // sorted boot starts
  std::vector<const char*> boundary_kind;
  std::vector<int64_t> clears;      // 1102 times, sorted
  std::map<int, int64_t> first_process_in_boot;
};

// Text helpers -------------------------------------------------------------------------------
std::string lower(std::string_view s) { return to_lower_ascii(s); }
std::string_view basename(std::string_view path) {
  auto p = path.find_last_of("\\/");
  return p == std::string_view::npos ? path : path.substr(p + 1);
}
// Names match case-insensitively; when either side is a bare file name, only base names count.
bool same_image(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) return false;
  bool bare = a.find_first_of("\\/") == std::string_view::npos || b.find_first_of("\\/") == std::string_view::npos;
  if (bare) return lower(basename(a)) == lower(basename(b));
  return lower(a) == lower(b);
}

std::string col_text(store::Stmt& st, int i) { return st.column_is_null(i) ? std::string() : st.column_text(i); }
std::optional<int64_t> col_int(store::Stmt& st, int i) {
  if (st.column_is_null(i)) return std::nullopt;
  return st.column_int(i);
}

class Builder {
 public:
  explicit Builder(store::Db& db) : db_(db) {}
  Expected<BuildStats> run();

 private:
  Status load_hosts();
  Status load_4688();
  Status load_sysmon();
  Status load_exits();
  Status load_sessions();
  void index_processes();
  int boot_of(std::string_view host, int64_t t) const;
  std::optional<int64_t> boot_start(std::string_view host, int boot) const;
  void link_parents();
  std::optional<size_t> pick_parent(size_t child, int* candidates);
  const char* orphan_reason(const Proc& child) const;
  size_t placeholder_for(const Proc& child);
  void assign_sessions();
  Status write();

  template <typename Fn>
  Status each_row(const char* sql, Fn fn) {
    auto st = db_.prepare(sql);
    if (!st) return st.error();
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) fn(*st);
    if (rc != SQLITE_DONE) return db_.error("reading events for the graph");
    return ok_status();
  }

  store::Db& db_;
  TextPool text_;
  // A deque: placeholders are added after the logged processes, and growing a vector of
  // hundreds of thousands of processes would briefly hold them twice.
  std::deque<Proc> procs_;
  std::vector<std::optional<Edge>> edges_;
  std::unordered_map<std::string, HostInfo> hosts_;
  std::unordered_map<std::string, std::vector<size_t>> by_pid_;  // "host\x1fpid" -> procs by start
  std::unordered_map<std::string, size_t> by_guid_;
  std::unordered_map<std::string, size_t> placeholders_;
  std::deque<Session> sessions_;  // a deque for the same reason as procs_
  std::unordered_map<std::string, std::vector<size_t>> sessions_by_id_;  // "host\x1fid" -> by start
  BuildStats stats_;
};

std::string pid_key(std::string_view host, int64_t pid) { return fmt::format("{}\x1f{}", host, pid); }

Status Builder::load_hosts() {
  // Boot boundaries: 4608 (system started) and 1100 (the logging service stopped, so the
  // next record comes from a new boot, whether or not its 4608 survived).
  auto s = each_row(
      "SELECT h.short_name, e.time, e.event_id FROM events e JOIN hosts h USING (host_id) "
      "JOIN channels c USING (channel_id) WHERE c.name = 'Security' AND e.event_id IN (4608, 1100, 1102) "
      "ORDER BY h.short_name, e.time, e.event_pk",
      [&](store::Stmt& st) {
        HostInfo& h = hosts_[st.column_text(0)];
        int64_t t = st.column_int(1);
        int64_t id = st.column_int(2);
        if (id == 1102) {
          h.clears.push_back(t);
        } else {
          // A 1100 followed by the next boot's 4608 is one boundary, not two empty boots.
          if (id == 4608 && !h.boundaries.empty() && std::string_view(h.boundary_kind.back()) == "logging_stopped") {
            h.boundaries.back() = t;
            h.boundary_kind.back() = "system_started";
            return;
          }
          h.boundaries.push_back(t);
          h.boundary_kind.push_back(id == 4608 ? "system_started" : "logging_stopped");
        }
      });
  return s;
}

int Builder::boot_of(std::string_view host, int64_t t) const {
  auto it = hosts_.find(std::string(host));
  if (it == hosts_.end()) return 0;
  const auto& b = it->second.boundaries;
  return static_cast<int>(std::upper_bound(b.begin(), b.end(), t) - b.begin());
}

std::optional<int64_t> Builder::boot_start(std::string_view host, int boot) const {
  if (boot == 0) return std::nullopt;
  return hosts_.at(std::string(host)).boundaries.at(boot - 1);
}

Status Builder::load_4688() {
  return each_row(
      "SELECT e.event_pk, h.short_name, e.time, pc.new_process_id, pc.new_process_name, pc.command_line, "
      "pc.process_id, pc.parent_process_name, pc.subject_user_sid, pc.subject_user_name, pc.subject_domain_name, "
      "pc.subject_logon_id, pc.target_user_sid, pc.target_user_name, pc.target_domain_name, pc.target_logon_id, "
      "pc.token_elevation_type, pc.mandatory_label "
      "FROM sec_process_create pc JOIN events e USING (event_pk) JOIN hosts h USING (host_id) "
      "WHERE pc.new_process_id IS NOT NULL ORDER BY h.short_name, e.time, e.event_pk",
      [&](store::Stmt& st) {
        Proc p;
        p.create_pk = st.column_int(0);
        p.host = text_.intern(st.column_text(1));
        p.start = st.column_int(2);
        p.pid = st.column_int(3);
        p.image = text_.intern(col_text(st, 4));
        p.ppid = col_int(st, 6);
        p.parent_image = text_.intern(col_text(st, 7));
        auto target_logon = col_int(st, 15);
        // The new process runs as the target account when 4688 v2 names one, else as the creator.
        if (target_logon && *target_logon != 0) {
          p.user_sid = text_.intern(col_text(st, 12));
          p.user_name = text_.intern(col_text(st, 13));
          p.user_domain = text_.intern(col_text(st, 14));
          p.logon_id = target_logon;
        } else {
          p.user_sid = text_.intern(col_text(st, 8));
          p.user_name = text_.intern(col_text(st, 9));
          p.user_domain = text_.intern(col_text(st, 10));
          p.logon_id = col_int(st, 11);
        }
        p.elevation = text_.intern(col_text(st, 16));
        static const std::unordered_map<std::string, std::string> kLabels = {
            {"S-1-16-0", "Untrusted"}, {"S-1-16-4096", "Low"},     {"S-1-16-8192", "Medium"},
            {"S-1-16-8448", "MediumPlus"}, {"S-1-16-12288", "High"}, {"S-1-16-16384", "System"},
            {"S-1-16-20480", "Protected"}};
        if (auto it = kLabels.find(col_text(st, 17)); it != kLabels.end()) p.integrity = it->second;
        p.source = Source::k4688;
        procs_.push_back(std::move(p));
      });
}

void Builder::index_processes() {
  by_pid_.clear();
  for (size_t i = 0; i < procs_.size(); ++i)
    if (procs_[i].source != Source::kPlaceholder) by_pid_[pid_key(procs_[i].host, procs_[i].pid)].push_back(i);
  for (auto& [k, v] : by_pid_)
    std::stable_sort(v.begin(), v.end(), [&](size_t a, size_t b) { return *procs_[a].start < *procs_[b].start; });
}

Status Builder::load_sysmon() {
  index_processes();
  std::vector<bool> taken(procs_.size(), false);
  return each_row(
      "SELECT e.event_pk, h.short_name, e.time, sp.process_id, sp.image, sp.command_line, sp.process_guid, "
      "sp.parent_process_guid, sp.parent_process_id, sp.parent_image, sp.user, sp.logon_id, sp.integrity_level "
      "FROM sysmon_process sp JOIN events e USING (event_pk) JOIN hosts h USING (host_id) "
      "WHERE e.event_id = 1 AND sp.process_id IS NOT NULL ORDER BY h.short_name, e.time, e.event_pk",
      [&](store::Stmt& st) {
        std::string host = st.column_text(1);
        int64_t t = st.column_int(2);
        int64_t pid = st.column_int(3);
        std::string image = col_text(st, 4);
        // The same process seen by 4688: same host, PID and image, a few seconds apart.
        std::optional<size_t> match;
        if (auto it = by_pid_.find(pid_key(host, pid)); it != by_pid_.end()) {
          int64_t best = kMergeWindow + 1;
          for (size_t i : it->second) {
            int64_t d = std::llabs(*procs_[i].start - t);
            if (i < taken.size() && !taken[i] && d < best && same_image(procs_[i].image, image)) {
              best = d;
              match = i;
            }
          }
        }
        Proc fresh;
        Proc& p = match ? procs_[*match] : fresh;
        if (match) {
          taken[*match] = true;
          p.source = Source::kBoth;
          ++stats_.merged;
        } else {
          p.source = Source::kSysmon;
          p.host = text_.intern(host);
          p.pid = pid;
          p.image = text_.intern(image);
          p.start = t;
          p.ppid = col_int(st, 8);
          p.parent_image = text_.intern(col_text(st, 9));
          // Sysmon writes "DOMAIN\user".
          std::string user = col_text(st, 10);
          auto slash = user.find('\\');
          p.user_domain = text_.intern(slash == std::string::npos ? "" : user.substr(0, slash));
          p.user_name = text_.intern(slash == std::string::npos ? user : user.substr(slash + 1));
          p.logon_id = col_int(st, 11);
        }
        p.sysmon_pk = st.column_int(0);
        p.guid = lower(col_text(st, 6));
        p.parent_guid = lower(col_text(st, 7));
        if (p.integrity.empty()) p.integrity = text_.intern(col_text(st, 12));
        if (!match) procs_.push_back(std::move(fresh));
      });
}

Status Builder::load_exits() {
  index_processes();
  for (size_t i = 0; i < procs_.size(); ++i)
    if (!procs_[i].guid.empty()) by_guid_.emplace(procs_[i].guid, i);
  // 4689 and Sysmon 5 end the latest matching process that started before them in that boot.
  return each_row(
      "SELECT e.event_pk, h.short_name, e.time, x.pid, x.image, x.guid FROM ("
      "  SELECT event_pk, process_id AS pid, process_name AS image, NULL AS guid FROM sec_process_exit "
      "  UNION ALL SELECT sp.event_pk, sp.process_id, sp.image, lower(sp.process_guid) FROM sysmon_process sp "
      "  JOIN events e2 ON e2.event_pk = sp.event_pk WHERE e2.event_id = 5) x "
      "JOIN events e ON e.event_pk = x.event_pk JOIN hosts h USING (host_id) "
      "WHERE x.pid IS NOT NULL ORDER BY h.short_name, e.time, e.event_pk",
      [&](store::Stmt& st) {
        std::string host = st.column_text(1);
        int64_t t = st.column_int(2);
        std::string guid = col_text(st, 5);
        std::optional<size_t> target;
        if (!guid.empty())
          if (auto g = by_guid_.find(guid); g != by_guid_.end()) target = g->second;
        if (!target) {
          auto it = by_pid_.find(pid_key(host, st.column_int(3)));
          if (it == by_pid_.end()) return;
          std::string image = col_text(st, 4);
          int boot = boot_of(host, t);
          for (auto r = it->second.rbegin(); r != it->second.rend(); ++r) {
            const Proc& p = procs_[*r];
            if (*p.start > t) continue;
            if (p.boot != boot) break;
            if (p.end) break;  // the latest one already ended: this exit is of an unlogged process
            if (!image.empty() && !p.image.empty() && !same_image(p.image, image)) continue;
            target = *r;
            break;
          }
        }
        if (target && !procs_[*target].end) {
          procs_[*target].end = t;
          procs_[*target].exit_pk = st.column_int(0);
        }
      });
}

std::optional<size_t> Builder::pick_parent(size_t child, int* candidates) {
  const Proc& c = procs_[child];
  *candidates = 0;
  if (!c.ppid) return std::nullopt;
  auto it = by_pid_.find(pid_key(c.host, *c.ppid));
  if (it == by_pid_.end()) return std::nullopt;
  const auto& list = it->second;
  int64_t t = *c.start;
  // The latest process with that PID that started at or before t ...
  auto upto = std::upper_bound(list.begin(), list.end(), t, [&](int64_t v, size_t i) { return v < *procs_[i].start; });
  std::optional<size_t> chosen;
  int walked = 0;
  for (auto r = std::make_reverse_iterator(upto); r != list.rend() && walked < kMaxCandidates; ++r, ++walked) {
    size_t i = *r;
    const Proc& p = procs_[i];
    if (i == child) continue;
    // A process logged at the same instant as the child is its parent only if logged first:
    // this total order keeps the graph free of cycles.
    if (*p.start == t && i > child) continue;
    // ... in the same boot ...
    if (p.boot != c.boot) break;
    // ... that had not exited ...
    if (p.end && *p.end < t) continue;
    // ... and whose image is the one the child names.
    if (!c.parent_image.empty() && !same_image(p.image, c.parent_image)) continue;
    ++*candidates;
    if (!chosen) chosen = i;
  }
  return chosen;
}

const char* Builder::orphan_reason(const Proc& c) const {
  int64_t t = *c.start;
  auto start = boot_start(c.host, c.boot);
  auto h = hosts_.find(std::string(c.host));
  if (h != hosts_.end()) {
    for (int64_t clear : h->second.clears)
      if (clear <= t && (!start || clear >= *start)) return "log_cleared";
  }
  if (!start) return "before_first_record";
  if (h != hosts_.end()) {
    auto f = h->second.first_process_in_boot.find(c.boot);
    if (f != h->second.first_process_in_boot.end() && f->second - *start > kAuditLag) return "no_process_auditing";
  }
  if (c.ppid) {
    if (auto it = by_pid_.find(pid_key(c.host, *c.ppid)); it != by_pid_.end())
      for (size_t i : it->second)
        if (procs_[i].boot < c.boot && (c.parent_image.empty() || same_image(procs_[i].image, c.parent_image)))
          return "boot_between";
  }
  return "parent_not_logged";
}

size_t Builder::placeholder_for(const Proc& c) {
  std::string name = c.parent_image.empty() ? "?" : lower(basename(c.parent_image));
  std::string key = fmt::format("{}:{}:boot{}:{}", c.host, c.ppid.value_or(-1), c.boot, name);
  if (auto it = placeholders_.find(key); it != placeholders_.end()) return it->second;
  Proc p;
  p.host = c.host;
  p.boot = c.boot;
  p.pid = c.ppid.value_or(-1);
  p.image = c.parent_image;
  // PID 4 is always the System process, which starts with the kernel and is never in a 4688.
  if (p.image.empty() && p.pid == 4) p.image = "System";
  p.source = Source::kPlaceholder;
  p.key = key;
  procs_.push_back(std::move(p));
  edges_.emplace_back();
  placeholders_.emplace(key, procs_.size() - 1);
  ++stats_.placeholders;
  return procs_.size() - 1;
}

void Builder::link_parents() {
  size_t logged = procs_.size();
  edges_.assign(logged, std::nullopt);
  for (size_t i = 0; i < logged; ++i) {
    Proc& c = procs_[i];
    // Sysmon's ProcessGuid is unique per process: when the parent's is known, it is the truth.
    if (!c.parent_guid.empty()) {
      if (auto g = by_guid_.find(c.parent_guid); g != by_guid_.end() && g->second != i) {
        edges_[i] = Edge{g->second, "sysmon_guid", 1, 1.0, nullptr};
        continue;
      }
    }
    int candidates = 0;
    auto parent = pick_parent(i, &candidates);
    if (parent) {
      bool named = !c.parent_image.empty();
      double confidence = candidates == 1 ? (named ? 0.99 : 0.95) : (named ? 0.85 : 0.6);
      edges_[i] = Edge{*parent, named ? "pid_time_name" : "pid_time", candidates, confidence, nullptr};
      continue;
    }
    if (!c.ppid) continue;  // no creator PID at all: a root
    const char* reason = orphan_reason(c);
    size_t ph = placeholder_for(procs_[i]);
    edges_[i] = Edge{ph, "placeholder", 0, 0.0, reason};
  }
}

Status Builder::load_sessions() {
  auto s = each_row(
      "SELECT e.event_pk, h.short_name, e.time, l.target_logon_id, l.logon_type, l.target_user_sid, "
      "l.target_user_name, l.target_domain_name, l.ip_address, l.ip_port, l.workstation_name, "
      "l.authentication_package_name, l.logon_process_name, l.elevated_token, l.target_linked_logon_id "
      "FROM sec_logon l JOIN events e USING (event_pk) JOIN hosts h USING (host_id) "
      "WHERE l.target_logon_id IS NOT NULL ORDER BY h.short_name, e.time, e.event_pk",
      [&](store::Stmt& st) {
        Session s;
        s.event_pk = st.column_int(0);
        s.host = text_.intern(st.column_text(1));
        s.start = st.column_int(2);
        s.logon_id = st.column_int(3);
        s.boot = boot_of(s.host, *s.start);
        s.logon_type = col_int(st, 4);
        s.user_sid = text_.intern(col_text(st, 5));
        s.user_name = text_.intern(col_text(st, 6));
        s.user_domain = text_.intern(col_text(st, 7));
        s.ip = text_.intern(col_text(st, 8));
        s.ip_port = col_int(st, 9);
        s.workstation = text_.intern(col_text(st, 10));
        s.auth = text_.intern(col_text(st, 11));
        s.logon_process = text_.intern(col_text(st, 12));
        s.elevated = text_.intern(col_text(st, 13));
        s.linked = col_int(st, 14);
        s.key = fmt::format("{}:0x{:x}:{}", s.host, s.logon_id, *s.start);
        sessions_.push_back(std::move(s));
      });
  if (!s) return s;
  for (size_t i = 0; i < sessions_.size(); ++i)
    sessions_by_id_[pid_key(sessions_[i].host, sessions_[i].logon_id)].push_back(i);

  auto find_session = [&](std::string_view host, int64_t id, int64_t t, int64_t slack) -> std::optional<size_t> {
    auto it = sessions_by_id_.find(pid_key(host, id));
    if (it == sessions_by_id_.end()) return std::nullopt;
    int boot = boot_of(host, t);
    std::optional<size_t> best;
    for (size_t i : it->second) {
      const Session& s = sessions_[i];
      if (s.boot != boot || *s.start > t + slack) continue;
      best = i;  // sorted by start: the last that fits is the latest
    }
    return best;
  };
  // 4672: special privileges, logged beside its 4624.
  s = each_row(
      "SELECT h.short_name, e.time, sl.subject_logon_id FROM sec_special_logon sl JOIN events e USING (event_pk) "
      "JOIN hosts h USING (host_id) WHERE sl.subject_logon_id IS NOT NULL",
      [&](store::Stmt& st) {
        std::string host = st.column_text(0);
        int64_t t = st.column_int(1);
        if (auto i = find_session(host, st.column_int(2), t, kSpecialWindow);
            i && std::llabs(*sessions_[*i].start - t) <= kSpecialWindow)
          sessions_[*i].special = true;
      });
  if (!s) return s;
  // 4634/4647 end the session.
  s = each_row(
      "SELECT h.short_name, e.time, lo.target_logon_id FROM sec_logoff lo JOIN events e USING (event_pk) "
      "JOIN hosts h USING (host_id) WHERE lo.target_logon_id IS NOT NULL ORDER BY e.time",
      [&](store::Stmt& st) {
        std::string host = st.column_text(0);
        int64_t t = st.column_int(1);
        if (auto i = find_session(host, st.column_int(2), t, 0); i && !sessions_[*i].end) sessions_[*i].end = t;
      });
  if (!s) return s;
  // Split UAC tokens: each half names the other in TargetLinkedLogonId.
  for (auto& sess : sessions_) {
    if (!sess.linked || *sess.linked == 0) continue;
    if (auto i = find_session(sess.host, *sess.linked, *sess.start, kSpecialWindow)) sess.linked_key = sessions_[*i].key;
  }

  // Each process pivots to the latest logon of its LogonId on its host and boot.
  std::unordered_set<std::string> synthetic;  // well-known and unseen sessions made so far
  for (auto& p : procs_) {
    if (p.source == Source::kPlaceholder || !p.logon_id || *p.logon_id == 0) continue;
    int64_t id = *p.logon_id;
    if (id == 0x3e7 || id == 0x3e4 || id == 0x3e5) {
      std::string key = fmt::format("{}:0x{:x}:boot{}", p.host, id, p.boot);
      p.session_key = key;
      if (synthetic.insert(key).second) {
        Session s;
        s.key = key;
        s.host = p.host;
        s.boot = p.boot;
        s.logon_id = id;
        s.kind = "well_known";
        s.user_domain = "NT AUTHORITY";
        s.user_name = id == 0x3e7 ? "SYSTEM" : id == 0x3e4 ? "NETWORK SERVICE" : "LOCAL SERVICE";
        sessions_.push_back(std::move(s));
      }
      continue;
    }
    // A process can be logged in the same instant as its logon; allow a second.
    if (auto i = find_session(p.host, id, *p.start, kSecond)) {
      p.session_key = sessions_[*i].key;
      continue;
    }
    std::string key = fmt::format("{}:0x{:x}:boot{}", p.host, id, p.boot);
    p.session_key = key;
    if (synthetic.insert(key).second) {
      Session s;
      s.key = key;
      s.host = p.host;
      s.boot = p.boot;
      s.logon_id = id;
      s.kind = "unseen";
      s.user_sid = p.user_sid;
      s.user_name = p.user_name;
      s.user_domain = p.user_domain;
      sessions_.push_back(std::move(s));
    }
  }
  return ok_status();
}

Status Builder::write() {
  // Findings name processes and their ancestry in the graph being replaced: they are cleared,
  // and the caller says to hunt again (it cannot know which rules the last hunt used).
  auto findings = db_.query_int("SELECT count(*) FROM findings");
  if (!findings) return findings.error();
  stats_.findings_cleared = *findings;
  if (auto s = db_.exec("DELETE FROM findings; DELETE FROM process_edges; DELETE FROM processes; DELETE FROM sessions; "
                        "DELETE FROM boots;");
      !s)
    return s;
  auto boots = db_.prepare("INSERT INTO boots (host, boot, start_time, start_kind) VALUES (?, ?, ?, ?)");
  if (!boots) return boots.error();
  std::vector<std::string> host_names;
  for (const auto& p : procs_) host_names.emplace_back(p.host);
  for (const auto& [h, info] : hosts_) host_names.push_back(h);
  std::sort(host_names.begin(), host_names.end());
  host_names.erase(std::unique(host_names.begin(), host_names.end()), host_names.end());
  for (const auto& h : host_names) {
    auto it = hosts_.find(h);
    size_t n = it == hosts_.end() ? 0 : it->second.boundaries.size();
    for (size_t b = 0; b <= n; ++b) {
      boots->reset();
      boots->bind(1, std::string_view(h));
      boots->bind(2, static_cast<int64_t>(b));
      if (b == 0) boots->bind_null(3); else boots->bind(3, it->second.boundaries[b - 1]);
      boots->bind(4, std::string_view(b == 0 ? "log_start" : it->second.boundary_kind[b - 1]));
      if (boots->step() != SQLITE_DONE) return db_.error("writing boots");
    }
  }

  auto ins = db_.prepare(
      "INSERT INTO processes (process_key, host, boot, pid, image, command_line, start_time, end_time, source, "
      "create_event_pk, sysmon_event_pk, exit_event_pk, process_guid, user_sid, user_name, user_domain, logon_id, "
      "integrity_level, token_elevation, parent_command_line, hashes, original_file_name, session_key) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins) return ins.error();
  // Command lines, hashes and file names are read from the event rows here, one process at a
  // time, so the builder need not hold them for every process. (An INSERT ... SELECT joining
  // them would be a multi-row statement, which makes SQLite copy every page it touches into a
  // statement journal: 8 GB of writes for 120,000 processes.)
  auto create_text = db_.prepare("SELECT command_line FROM sec_process_create WHERE event_pk = ?");
  if (!create_text) return create_text.error();
  auto sysmon_text = db_.prepare(
      "SELECT command_line, parent_command_line, hashes, original_file_name FROM sysmon_process WHERE event_pk = ?");
  if (!sysmon_text) return sysmon_text.error();
  auto text_or_null = [](store::Stmt& st, int i, std::string_view v) {
    if (v.empty()) st.bind_null(i); else st.bind(i, v);
  };
  auto int_or_null = [](store::Stmt& st, int i, std::optional<int64_t> v) {
    if (v) st.bind(i, *v); else st.bind_null(i);
  };
  // One row of `lookup` for this event, or none.
  auto row_of = [](store::Stmt& lookup, int64_t event_pk) {
    lookup.reset();
    if (event_pk == 0) return false;
    lookup.bind(1, event_pk);
    return lookup.step() == SQLITE_ROW;
  };
  for (const Proc& p : procs_) {
    store::Stmt& st = *ins;
    st.reset();
    st.bind(1, std::string_view(p.key));
    st.bind(2, p.host);
    st.bind(3, int64_t{p.boot});
    st.bind(4, p.pid);
    text_or_null(st, 5, p.image);
    // 4688's command line; Sysmon's where 4688 has none (or an empty one: auditing was off).
    std::optional<std::string> command_line;
    if (row_of(*create_text, p.create_pk) && !create_text->column_is_null(0)) command_line = create_text->column_text(0);
    bool sysmon = row_of(*sysmon_text, p.sysmon_pk);
    if (sysmon && command_line.value_or("").empty() && !sysmon_text->column_is_null(0))
      command_line = sysmon_text->column_text(0);
    if (command_line) st.bind(6, std::string_view(*command_line)); else st.bind_null(6);
    int_or_null(st, 7, p.start);
    int_or_null(st, 8, p.end);
    st.bind(9, std::string_view(source_name(p.source)));
    int_or_null(st, 10, p.create_pk ? std::optional<int64_t>(p.create_pk) : std::nullopt);
    int_or_null(st, 11, p.sysmon_pk ? std::optional<int64_t>(p.sysmon_pk) : std::nullopt);
    int_or_null(st, 12, p.exit_pk ? std::optional<int64_t>(p.exit_pk) : std::nullopt);
    text_or_null(st, 13, p.guid);
    text_or_null(st, 14, p.user_sid);
    text_or_null(st, 15, p.user_name);
    text_or_null(st, 16, p.user_domain);
    int_or_null(st, 17, p.logon_id);
    text_or_null(st, 18, p.integrity);
    text_or_null(st, 19, p.elevation);
    for (int c = 1; c <= 3; ++c)
      text_or_null(st, 19 + c, sysmon ? std::string_view(sysmon_text->column_text(c)) : std::string_view());
    text_or_null(st, 23, p.session_key);
    if (st.step() != SQLITE_DONE) return db_.error(fmt::format("writing process {}", p.key));
  }

  auto edge = db_.prepare(
      "INSERT INTO process_edges (child_key, parent_key, method, candidates, confidence, orphan_reason) "
      "VALUES (?, ?, ?, ?, ?, ?)");
  if (!edge) return edge.error();
  for (size_t i = 0; i < procs_.size(); ++i) {
    if (i >= edges_.size() || !edges_[i]) continue;
    const Edge& e = *edges_[i];
    store::Stmt& st = *edge;
    st.reset();
    st.bind(1, std::string_view(procs_[i].key));
    st.bind(2, std::string_view(procs_[e.parent].key));
    st.bind(3, std::string_view(e.method));
    st.bind(4, int64_t{e.candidates});
    sqlite3_bind_double(st.get(), 5, e.confidence);
    if (e.orphan_reason) st.bind(6, std::string_view(e.orphan_reason)); else st.bind_null(6);
    if (st.step() != SQLITE_DONE) return db_.error("writing a process link");
    ++stats_.links_by_method[e.method];
    if (e.orphan_reason) ++stats_.orphans_by_reason[e.orphan_reason];
  }

  auto ses = db_.prepare(
      "INSERT INTO sessions (session_key, host, boot, logon_id, kind, logon_event_pk, start_time, end_time, "
      "logon_type, user_sid, user_name, user_domain, ip_address, ip_port, workstation_name, auth_package, "
      "logon_process, elevated_token, special_privileges, linked_logon_id, linked_session_key) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_key) DO NOTHING");
  if (!ses) return ses.error();
  for (const Session& s : sessions_) {
    store::Stmt& st = *ses;
    st.reset();
    st.bind(1, std::string_view(s.key));
    st.bind(2, std::string_view(s.host));
    st.bind(3, int64_t{s.boot});
    st.bind(4, s.logon_id);
    st.bind(5, std::string_view(s.kind));
    int_or_null(st, 6, s.event_pk ? std::optional<int64_t>(s.event_pk) : std::nullopt);
    int_or_null(st, 7, s.start);
    int_or_null(st, 8, s.end);
    int_or_null(st, 9, s.logon_type);
    text_or_null(st, 10, s.user_sid);
    text_or_null(st, 11, s.user_name);
    text_or_null(st, 12, s.user_domain);
    text_or_null(st, 13, s.ip);
    int_or_null(st, 14, s.ip_port);
    text_or_null(st, 15, s.workstation);
    text_or_null(st, 16, s.auth);
    text_or_null(st, 17, s.logon_process);
    text_or_null(st, 18, s.elevated);
    st.bind(19, int64_t{s.special ? 1 : 0});
    int_or_null(st, 20, s.linked);
    text_or_null(st, 21, s.linked_key);
    if (st.step() != SQLITE_DONE) return db_.error("writing a session");
  }
  stats_.sessions = static_cast<int64_t>(sessions_.size());
  return ok_status();
}

Expected<BuildStats> Builder::run() {
  if (auto s = load_hosts(); !s) return s.error();
  if (auto s = load_4688(); !s) return s.error();
  if (auto s = load_sysmon(); !s) return s.error();
  for (auto& p : procs_) {
    p.boot = boot_of(p.host, *p.start);
    // Keys are stable across rebuilds: host, PID and the start time in FILETIME ticks.
    p.key = fmt::format("{}:{}:{}", p.host, p.pid, *p.start);
    auto& h = hosts_[std::string(p.host)];
    auto [it, fresh] = h.first_process_in_boot.emplace(p.boot, *p.start);
    if (!fresh) it->second = std::min(it->second, *p.start);
  }
  // Two records of one process (a duplicate export with other record ids) would share a key.
  std::sort(procs_.begin(), procs_.end(), [](const Proc& a, const Proc& b) {
    return std::tie(a.host, *a.start, a.create_pk, a.sysmon_pk) < std::tie(b.host, *b.start, b.create_pk, b.sysmon_pk);
  });
  for (size_t i = 1; i < procs_.size(); ++i)
    if (procs_[i].key == procs_[i - 1].key) procs_[i].key += fmt::format("#{}", procs_[i].create_pk ? procs_[i].create_pk : procs_[i].sysmon_pk);
  stats_.processes = static_cast<int64_t>(procs_.size());
  if (auto s = load_exits(); !s) return s.error();
  link_parents();
  if (auto s = load_sessions(); !s) return s.error();

  ProcessGraph g(procs_.size());
  for (size_t i = 0; i < edges_.size(); ++i)
    if (edges_[i]) g.add_link(edges_[i]->parent, i);
  if (!g.is_forest())
    return Error{ErrorCode::kInternal, "process links do not form a forest (a process would be its own ancestor)"};

  // Every key written here comes from this build, so per-row foreign-key lookups (events by
  // pk, processes by text key) would only repeat what the builder knows; they took 0.7 s of a
  // 3.9 s rebuild of 120,000 processes. The tests run foreign_key_check on rebuilt cases instead.
  if (auto s = db_.exec("PRAGMA foreign_keys = OFF"); !s) return db_.error("preparing the graph rebuild");
  if (auto s = db_.exec("BEGIN IMMEDIATE"); !s) return db_.error("starting the graph rebuild");
  if (auto s = write(); !s) {
    (void)db_.exec("ROLLBACK");
    (void)db_.exec("PRAGMA foreign_keys = ON");
    return s.error();
  }
  if (auto s = db_.exec("COMMIT"); !s) return db_.error("committing the graph");
  if (auto s = db_.exec("PRAGMA foreign_keys = ON"); !s) return db_.error("restoring foreign keys");
  return stats_;
}

}  // namespace

Expected<BuildStats> build_graph(store::Db& db) {
  Builder b(db);
  return b.run();
}

}  // namespace treeline::graph
