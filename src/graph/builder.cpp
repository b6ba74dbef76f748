#include "graph/builder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/text.hpp"
#include "core/vocabulary.hpp"
#include "graph/process_graph.hpp"
#include "graph/state.hpp"

namespace treeline::graph {
namespace {

constexpr int64_t kSecond = 10'000'000LL;
// A process is audited late when the first 4688 of a boot comes this long after the boot.
constexpr int64_t kAuditLag = 120 * kSecond;
// A 4672 belongs to the 4624 it was logged beside.
constexpr int64_t kSpecialWindow = 5 * kSecond;
// The walk over same-PID candidates stops here: enough to tell one from many.
constexpr int kMaxCandidates = 64;

enum class Source : uint8_t { k4688, kSysmon, kBoth, kPlaceholder };
const char* source_name(Source s) {
  switch (s) {
    case Source::k4688: return "4688";
    case Source::kSysmon: return "sysmon";
    case Source::kBoth: return "both";
    case Source::kPlaceholder: return "placeholder";
  }
  return "";
}

// Text that repeats across processes (hosts, images, accounts, GUIDs) is stored once and named
// by a 4-byte id: a case holds hundreds of thousands of processes and sessions, and a
// string_view per field took 16 bytes.
struct Text {
  uint32_t id = 0;  // 0 is the empty text
  bool empty() const { return id == 0; }
  bool operator==(const Text&) const = default;
};

class TextPool {
 public:
  TextPool() { views_.emplace_back(); }
  Text intern(std::string_view s) {
    if (s.empty()) return {};
    if (auto it = ids_.find(s); it != ids_.end()) return {it->second};
    // A deque never moves its strings, so the views into them stay valid.
    const std::string& kept = strings_.emplace_back(s);
    auto id = static_cast<uint32_t>(views_.size());
    views_.push_back(kept);
    ids_.emplace(kept, id);
    return {id};
  }
  std::string_view operator[](Text t) const { return views_[t.id]; }

 private:
  std::deque<std::string> strings_;
  std::vector<std::string_view> views_;
  std::unordered_map<std::string_view, uint32_t> ids_;
};

// An optional integer in 8 bytes where std::optional takes 16: the builder holds several for
// each of hundreds of thousands of processes. INT64_MIN means none; no time, PID or LogonId
// that Windows writes is that value.
class OptInt {
 public:
  OptInt() = default;
  OptInt(int64_t v) : v_(v) {}
  OptInt(std::optional<int64_t> v) : v_(v.value_or(kNone)) {}
  explicit operator bool() const { return v_ != kNone; }
  int64_t operator*() const { return v_; }
  int64_t value_or(int64_t other) const { return v_ != kNone ? v_ : other; }
  operator std::optional<int64_t>() const { return v_ != kNone ? std::optional<int64_t>(v_) : std::nullopt; }

 private:
  static constexpr int64_t kNone = INT64_MIN;
  int64_t v_ = kNone;
};

// (host, PID) or (host, LogonId): what processes and sessions are looked up by.
struct HostId {
  uint32_t host;
  int64_t id;
  bool operator==(const HostId&) const = default;
};
struct HostIdHash {
  size_t operator()(const HostId& k) const { return std::hash<int64_t>()(k.id) * 31 + k.host; }
};

// One process as the builder needs it to link and pivot. Text only the processes table shows
// (command lines, hashes) is not held here: write() takes it from the event tables. Keys are
// formatted when written (key_of), not held.
struct Proc {
  Text host, image, parent_image, user_sid, user_name, user_domain, integrity, elevation, guid, parent_guid;
  int boot = 0;
  Source source = Source::k4688;
  bool duplicate = false;  // an earlier record has this host, PID and start: the key adds "#pk"
  bool unnamed = false;    // a placeholder whose children named no parent image
  int32_t session = -1;    // index into sessions_
  int64_t pid = 0;
  OptInt start, end, ppid, logon_id;
  int64_t create_pk = 0, sysmon_pk = 0, exit_pk = 0;
};

enum class Method : uint8_t { kSysmonGuid, kPidTimeName, kPidTime, kPlaceholder };
const char* method_name(Method m) {
  switch (m) {
    case Method::kSysmonGuid: return "sysmon_guid";
    case Method::kPidTimeName: return "pid_time_name";
    case Method::kPidTime: return "pid_time";
    case Method::kPlaceholder: return "placeholder";
  }
  return "";
}
// Why a process's parent is not in the log; kNone unless the link is to a placeholder.
enum class Orphan : uint8_t { kNone, kLogCleared, kBeforeFirstRecord, kNoProcessAuditing, kBootBetween, kParentNotLogged };
const char* orphan_name(Orphan o) {
  switch (o) {
    case Orphan::kNone: return nullptr;
    case Orphan::kLogCleared: return "log_cleared";
    case Orphan::kBeforeFirstRecord: return "before_first_record";
    case Orphan::kNoProcessAuditing: return "no_process_auditing";
    case Orphan::kBootBetween: return "boot_between";
    case Orphan::kParentNotLogged: return "parent_not_logged";
  }
  return nullptr;
}

struct Edge {
  uint32_t parent;
  uint16_t candidates;  // at most kMaxCandidates
  Method method;
  Orphan orphan;
};
// How sure a link is: a Sysmon GUID is the truth; a PID-and-time link is surer when the child
// names the parent's image and when only one process fits.
double confidence(const Edge& e) {
  switch (e.method) {
    case Method::kSysmonGuid: return 1.0;
    case Method::kPidTimeName: return e.candidates == 1 ? 0.99 : 0.85;
    case Method::kPidTime: return e.candidates == 1 ? 0.95 : 0.6;
    case Method::kPlaceholder: return 0.0;
  }
  return 0.0;
}

struct Session {
  Text host, user_sid, user_name, user_domain, ip, workstation, auth, logon_process, elevated;
  int boot = 0;
  int32_t linked_session = -1;  // index into sessions_ of the other half of a split token
  bool special = false;
  const char* kind = "logon";
  int64_t logon_id = 0;
  int64_t event_pk = 0;
  OptInt start, end, logon_type, ip_port, linked;
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
  Builder(store::Db& db, BeforeWrite before_write) : db_(db), before_write_(std::move(before_write)) {}
  Expected<BuildStats> run();

 private:
  Status load_hosts();
  Status load_4688();
  Status load_sysmon();
  Status load_exits();
  Status load_sessions();
  void index_processes();
  void mark_duplicate_keys();
  int boot_of(Text host, int64_t t) const;
  std::optional<int64_t> boot_start(Text host, int boot) const;
  void link_parents();
  std::optional<size_t> pick_parent(size_t child, int* candidates);
  Orphan orphan_reason(const Proc& child) const;
  size_t placeholder_for(const Proc& child);
  std::optional<size_t> find_session(Text host, int64_t id, int64_t t, int64_t slack) const;
  int32_t synthetic_session(const Proc& p, const char* kind);
  std::string key_of(const Proc& p) const;
  std::string key_of(const Session& s) const;
  Status write();
  Status write_event_processes();
  // processes.process_id: the position in procs_, from 1.
  static int64_t process_id(size_t i) { return static_cast<int64_t>(i) + 1; }

  template <typename Fn>
  Status each_row(const char* sql, Fn fn) {
    auto st = db_.prepare(sql);
    if (!st) return st.error();
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) fn(*st);
    if (rc != SQLITE_DONE) return db_.error("reading events for the graph");
    return ok_status();
  }
  Text text_of(store::Stmt& st, int i) { return st.column_is_null(i) ? Text{} : text_.intern(st.column_text(i)); }
  // Sysmon writes "-" or "?" (and 4688 "-") where it does not know a parent's image: that is
  // unknown, not an image, so no placeholder is named "-" and no rule matches on it.
  Text image_of(store::Stmt& st, int i) {
    if (st.column_is_null(i)) return Text{};
    std::string v = st.column_text(i);
    return v == "-" || v == "?" || v.empty() ? Text{} : text_.intern(v);
  }

  store::Db& db_;
  BeforeWrite before_write_;
  TextPool text_;
  // A deque: placeholders are added after the logged processes, and growing a vector of
  // hundreds of thousands of processes would briefly hold them twice.
  std::deque<Proc> procs_;
  std::vector<std::optional<Edge>> edges_;
  std::unordered_map<uint32_t, HostInfo> hosts_;                    // by host text id
  std::unordered_map<HostId, std::vector<uint32_t>, HostIdHash> by_pid_;  // procs by start
  std::unordered_map<uint32_t, size_t> by_guid_;                    // by GUID text id
  std::map<std::tuple<uint32_t, int64_t, int, std::string>, size_t> placeholders_;
  std::deque<Session> sessions_;  // a deque for the same reason as procs_
  std::unordered_map<HostId, std::vector<uint32_t>, HostIdHash> sessions_by_id_;  // by start
  std::map<std::tuple<uint32_t, int64_t, int>, int32_t> synthetic_;  // (host, LogonId, boot)
  BuildStats stats_;
};

Status Builder::load_hosts() {
  // Boot boundaries: 4608 (system started) and 1100 (the logging service stopped, so the
  // next record comes from a new boot, whether or not its 4608 survived).
  auto s = each_row(
      "SELECT h.short_name, e.time, e.event_id FROM events e JOIN hosts h USING (host_id) "
      "JOIN channels c USING (channel_id) WHERE c.name = 'Security' AND e.event_id IN (4608, 1100, 1102) "
      "ORDER BY h.short_name, e.time, e.event_pk",
      [&](store::Stmt& st) {
        HostInfo& h = hosts_[text_.intern(st.column_text(0)).id];
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

int Builder::boot_of(Text host, int64_t t) const {
  auto it = hosts_.find(host.id);
  if (it == hosts_.end()) return 0;
  const auto& b = it->second.boundaries;
  return static_cast<int>(std::upper_bound(b.begin(), b.end(), t) - b.begin());
}

std::optional<int64_t> Builder::boot_start(Text host, int boot) const {
  if (boot == 0) return std::nullopt;
  // A boot number comes from boot_of over the same boundaries, so it is in range.
  auto it = hosts_.find(host.id);
  if (it == hosts_.end() || boot < 1 || static_cast<size_t>(boot) > it->second.boundaries.size()) return std::nullopt;
  return it->second.boundaries[static_cast<size_t>(boot - 1)];
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
        p.host = text_of(st, 1);
        p.start = st.column_int(2);
        p.pid = st.column_int(3);
        p.image = text_of(st, 4);
        p.ppid = col_int(st, 6);
        p.parent_image = image_of(st, 7);
        auto target_logon = col_int(st, 15);
        // The new process runs as the target account when 4688 v2 names one, else as the creator.
        if (target_logon && *target_logon != 0) {
          p.user_sid = text_of(st, 12);
          p.user_name = text_of(st, 13);
          p.user_domain = text_of(st, 14);
          p.logon_id = target_logon;
        } else {
          p.user_sid = text_of(st, 8);
          p.user_name = text_of(st, 9);
          p.user_domain = text_of(st, 10);
          p.logon_id = col_int(st, 11);
        }
        p.elevation = text_of(st, 16);
        if (auto level = integrity_level_name(col_text(st, 17)); !level.empty()) p.integrity = text_.intern(level);
        p.source = Source::k4688;
        procs_.push_back(p);
      });
}

void Builder::index_processes() {
  by_pid_.clear();
  for (size_t i = 0; i < procs_.size(); ++i)
    if (procs_[i].source != Source::kPlaceholder)
      by_pid_[HostId{procs_[i].host.id, procs_[i].pid}].push_back(static_cast<uint32_t>(i));
  for (auto& [k, v] : by_pid_)
    std::stable_sort(v.begin(), v.end(), [&](uint32_t a, uint32_t b) { return *procs_[a].start < *procs_[b].start; });
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
        Text host = text_of(st, 1);
        int64_t t = st.column_int(2);
        int64_t pid = st.column_int(3);
        std::string image = col_text(st, 4);
        // The same process seen by 4688: same host, PID and image, a few seconds apart.
        std::optional<size_t> match;
        if (auto it = by_pid_.find(HostId{host.id, pid}); it != by_pid_.end()) {
          int64_t best = kMergeWindow + 1;
          for (size_t i : it->second) {
            int64_t d = std::llabs(*procs_[i].start - t);
            if (i < taken.size() && !taken[i] && d < best && same_image(text_[procs_[i].image], image)) {
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
          p.host = host;
          p.pid = pid;
          p.image = text_.intern(image);
          p.start = t;
          p.ppid = col_int(st, 8);
          p.parent_image = image_of(st, 9);
          // Sysmon writes "DOMAIN\user".
          std::string user = col_text(st, 10);
          auto slash = user.find('\\');
          p.user_domain = text_.intern(slash == std::string::npos ? "" : user.substr(0, slash));
          p.user_name = text_.intern(slash == std::string::npos ? user : user.substr(slash + 1));
          p.logon_id = col_int(st, 11);
        }
        p.sysmon_pk = st.column_int(0);
        p.guid = text_.intern(lower(col_text(st, 6)));
        p.parent_guid = text_.intern(lower(col_text(st, 7)));
        if (p.integrity.empty()) p.integrity = text_of(st, 12);
        if (!match) procs_.push_back(fresh);
      });
}

Status Builder::load_exits() {
  index_processes();
  for (size_t i = 0; i < procs_.size(); ++i)
    if (!procs_[i].guid.empty()) by_guid_.emplace(procs_[i].guid.id, i);
  // 4689 and Sysmon 5 end the latest matching process that started before them in that boot.
  return each_row(
      "SELECT e.event_pk, h.short_name, e.time, x.pid, x.image, x.guid FROM ("
      "  SELECT event_pk, process_id AS pid, process_name AS image, NULL AS guid FROM sec_process_exit "
      "  UNION ALL SELECT sp.event_pk, sp.process_id, sp.image, lower(sp.process_guid) FROM sysmon_process sp "
      "  JOIN events e2 ON e2.event_pk = sp.event_pk WHERE e2.event_id = 5) x "
      "JOIN events e ON e.event_pk = x.event_pk JOIN hosts h USING (host_id) "
      "WHERE x.pid IS NOT NULL ORDER BY h.short_name, e.time, e.event_pk",
      [&](store::Stmt& st) {
        Text host = text_of(st, 1);
        int64_t t = st.column_int(2);
        Text guid = text_of(st, 5);
        std::optional<size_t> target;
        if (!guid.empty())
          if (auto g = by_guid_.find(guid.id); g != by_guid_.end()) target = g->second;
        if (!target) {
          auto it = by_pid_.find(HostId{host.id, st.column_int(3)});
          if (it == by_pid_.end()) return;
          std::string image = col_text(st, 4);
          int boot = boot_of(host, t);
          for (auto r = it->second.rbegin(); r != it->second.rend(); ++r) {
            const Proc& p = procs_[*r];
            if (*p.start > t) continue;
            if (p.boot != boot) break;
            if (p.end) break;  // the latest one already ended: this exit is of an unlogged process
            if (!image.empty() && !p.image.empty() && !same_image(text_[p.image], image)) continue;
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
  auto it = by_pid_.find(HostId{c.host.id, *c.ppid});
  if (it == by_pid_.end()) return std::nullopt;
  const auto& list = it->second;
  int64_t t = *c.start;
  // The latest process with that PID that started at or before t ...
  auto upto = std::upper_bound(list.begin(), list.end(), t, [&](int64_t v, uint32_t i) { return v < *procs_[i].start; });
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
    if (!c.parent_image.empty() && !same_image(text_[p.image], text_[c.parent_image])) continue;
    ++*candidates;
    if (!chosen) chosen = i;
  }
  return chosen;
}

Orphan Builder::orphan_reason(const Proc& c) const {
  int64_t t = *c.start;
  auto start = boot_start(c.host, c.boot);
  auto h = hosts_.find(c.host.id);
  if (h != hosts_.end()) {
    for (int64_t clear : h->second.clears)
      if (clear <= t && (!start || clear >= *start)) return Orphan::kLogCleared;
  }
  if (!start) return Orphan::kBeforeFirstRecord;
  if (h != hosts_.end()) {
    auto f = h->second.first_process_in_boot.find(c.boot);
    if (f != h->second.first_process_in_boot.end() && f->second - *start > kAuditLag) return Orphan::kNoProcessAuditing;
  }
  if (c.ppid) {
    if (auto it = by_pid_.find(HostId{c.host.id, *c.ppid}); it != by_pid_.end())
      for (size_t i : it->second)
        if (procs_[i].boot < c.boot && (c.parent_image.empty() || same_image(text_[procs_[i].image], text_[c.parent_image])))
          return Orphan::kBootBetween;
  }
  return Orphan::kParentNotLogged;
}

std::string Builder::key_of(const Proc& p) const {
  if (p.source == Source::kPlaceholder)
    return fmt::format("{}:{}:boot{}:{}", text_[p.host], p.pid, p.boot, p.unnamed ? "?" : lower(basename(text_[p.image])));
  // Keys are stable across rebuilds: host, PID and the start time in FILETIME ticks.
  if (p.duplicate) return fmt::format("{}:{}:{}#{}", text_[p.host], p.pid, *p.start, p.create_pk ? p.create_pk : p.sysmon_pk);
  return fmt::format("{}:{}:{}", text_[p.host], p.pid, *p.start);
}

std::string Builder::key_of(const Session& s) const {
  if (std::string_view(s.kind) == "logon") return fmt::format("{}:0x{:x}:{}", text_[s.host], s.logon_id, *s.start);
  return fmt::format("{}:0x{:x}:boot{}", text_[s.host], s.logon_id, s.boot);
}

size_t Builder::placeholder_for(const Proc& c) {
  std::string name = c.parent_image.empty() ? "?" : lower(basename(text_[c.parent_image]));
  auto ident = std::make_tuple(c.host.id, c.ppid.value_or(-1), c.boot, name);
  if (auto it = placeholders_.find(ident); it != placeholders_.end()) return it->second;
  Proc p;
  p.host = c.host;
  p.boot = c.boot;
  p.pid = c.ppid.value_or(-1);
  p.image = c.parent_image;
  p.unnamed = c.parent_image.empty();
  // PID 4 is always the System process, which starts with the kernel and is never in a 4688.
  if (p.image.empty() && p.pid == 4) p.image = text_.intern("System");
  p.source = Source::kPlaceholder;
  procs_.push_back(p);
  edges_.emplace_back();
  placeholders_.emplace(std::move(ident), procs_.size() - 1);
  ++stats_.placeholders;
  return procs_.size() - 1;
}

void Builder::link_parents() {
  size_t logged = procs_.size();
  edges_.assign(logged, std::nullopt);
  for (size_t i = 0; i < logged; ++i) {
    const Proc& c = procs_[i];
    // Sysmon's ProcessGuid is unique per process: when the parent's is known, it is the truth.
    if (!c.parent_guid.empty()) {
      if (auto g = by_guid_.find(c.parent_guid.id); g != by_guid_.end() && g->second != i) {
        edges_[i] = Edge{static_cast<uint32_t>(g->second), 1, Method::kSysmonGuid, Orphan::kNone};
        continue;
      }
    }
    int candidates = 0;
    auto parent = pick_parent(i, &candidates);
    if (parent) {
      edges_[i] = Edge{static_cast<uint32_t>(*parent), static_cast<uint16_t>(candidates),
                       c.parent_image.empty() ? Method::kPidTime : Method::kPidTimeName, Orphan::kNone};
      continue;
    }
    if (!c.ppid) continue;  // no creator PID at all: a root
    Orphan reason = orphan_reason(c);
    size_t ph = placeholder_for(c);
    edges_[i] = Edge{static_cast<uint32_t>(ph), 0, Method::kPlaceholder, reason};
  }
}

std::optional<size_t> Builder::find_session(Text host, int64_t id, int64_t t, int64_t slack) const {
  auto it = sessions_by_id_.find(HostId{host.id, id});
  if (it == sessions_by_id_.end()) return std::nullopt;
  int boot = boot_of(host, t);
  std::optional<size_t> best;
  for (size_t i : it->second) {
    const Session& s = sessions_[i];
    if (s.boot != boot || *s.start > t + slack) continue;
    best = i;  // sorted by start: the last that fits is the latest
  }
  return best;
}

// The session a process names but no 4624 of it was seen: a well-known service account's, or
// one that began before the log did. One per (host, LogonId, boot).
int32_t Builder::synthetic_session(const Proc& p, const char* kind) {
  auto ident = std::make_tuple(p.host.id, *p.logon_id, p.boot);
  if (auto it = synthetic_.find(ident); it != synthetic_.end()) return it->second;
  Session s;
  s.host = p.host;
  s.boot = p.boot;
  s.logon_id = *p.logon_id;
  s.kind = kind;
  if (std::string_view(kind) == "well_known") {
    s.user_domain = text_.intern("NT AUTHORITY");
    s.user_name = text_.intern(s.logon_id == 0x3e7 ? "SYSTEM" : s.logon_id == 0x3e4 ? "NETWORK SERVICE" : "LOCAL SERVICE");
  } else {
    s.user_sid = p.user_sid;
    s.user_name = p.user_name;
    s.user_domain = p.user_domain;
  }
  sessions_.push_back(s);
  auto index = static_cast<int32_t>(sessions_.size() - 1);
  synthetic_.emplace(ident, index);
  return index;
}

Status Builder::load_sessions() {
  auto loaded = each_row(
      "SELECT e.event_pk, h.short_name, e.time, l.target_logon_id, l.logon_type, l.target_user_sid, "
      "l.target_user_name, l.target_domain_name, l.ip_address, l.ip_port, l.workstation_name, "
      "l.authentication_package_name, l.logon_process_name, l.elevated_token, l.target_linked_logon_id "
      "FROM sec_logon l JOIN events e USING (event_pk) JOIN hosts h USING (host_id) "
      "WHERE l.target_logon_id IS NOT NULL ORDER BY h.short_name, e.time, e.event_pk",
      [&](store::Stmt& st) {
        Session s;
        s.event_pk = st.column_int(0);
        s.host = text_of(st, 1);
        s.start = st.column_int(2);
        s.logon_id = st.column_int(3);
        s.boot = boot_of(s.host, *s.start);
        s.logon_type = col_int(st, 4);
        s.user_sid = text_of(st, 5);
        s.user_name = text_of(st, 6);
        s.user_domain = text_of(st, 7);
        s.ip = text_of(st, 8);
        s.ip_port = col_int(st, 9);
        s.workstation = text_of(st, 10);
        s.auth = text_of(st, 11);
        s.logon_process = text_of(st, 12);
        s.elevated = text_of(st, 13);
        s.linked = col_int(st, 14);
        sessions_.push_back(s);
      });
  if (!loaded) return loaded;
  for (size_t i = 0; i < sessions_.size(); ++i)
    sessions_by_id_[HostId{sessions_[i].host.id, sessions_[i].logon_id}].push_back(static_cast<uint32_t>(i));

  // 4672: special privileges, logged beside its 4624.
  loaded = each_row(
      "SELECT h.short_name, e.time, sl.subject_logon_id FROM sec_special_logon sl JOIN events e USING (event_pk) "
      "JOIN hosts h USING (host_id) WHERE sl.subject_logon_id IS NOT NULL",
      [&](store::Stmt& st) {
        int64_t t = st.column_int(1);
        if (auto i = find_session(text_of(st, 0), st.column_int(2), t, kSpecialWindow);
            i && std::llabs(*sessions_[*i].start - t) <= kSpecialWindow)
          sessions_[*i].special = true;
      });
  if (!loaded) return loaded;
  // 4634/4647 end the session.
  loaded = each_row(
      "SELECT h.short_name, e.time, lo.target_logon_id FROM sec_logoff lo JOIN events e USING (event_pk) "
      "JOIN hosts h USING (host_id) WHERE lo.target_logon_id IS NOT NULL ORDER BY e.time",
      [&](store::Stmt& st) {
        int64_t t = st.column_int(1);
        if (auto i = find_session(text_of(st, 0), st.column_int(2), t, 0); i && !sessions_[*i].end) sessions_[*i].end = t;
      });
  if (!loaded) return loaded;
  // Split UAC tokens: each half names the other in TargetLinkedLogonId.
  for (auto& sess : sessions_) {
    if (!sess.linked || *sess.linked == 0) continue;
    if (auto i = find_session(sess.host, *sess.linked, *sess.start, kSpecialWindow))
      sess.linked_session = static_cast<int32_t>(*i);
  }

  // Each process pivots to the latest logon of its LogonId on its host and boot.
  for (auto& p : procs_) {
    if (p.source == Source::kPlaceholder || !p.logon_id || *p.logon_id == 0) continue;
    int64_t id = *p.logon_id;
    if (id == 0x3e7 || id == 0x3e4 || id == 0x3e5) {
      p.session = synthetic_session(p, "well_known");
    } else if (auto i = find_session(p.host, id, *p.start, kSecond)) {
      // A process can be logged in the same instant as its logon; allow a second.
      p.session = static_cast<int32_t>(*i);
    } else {
      p.session = synthetic_session(p, "unseen");
    }
  }
  return ok_status();
}

// Two records of one process (a duplicate export with other record ids) would share a key:
// the later one's key names its event. procs_ is sorted by host and start.
void Builder::mark_duplicate_keys() {
  std::vector<size_t> run;
  for (size_t i = 0; i < procs_.size();) {
    size_t j = i + 1;
    while (j < procs_.size() && procs_[j].host == procs_[i].host && *procs_[j].start == *procs_[i].start) ++j;
    if (j - i > 1) {
      run.clear();
      for (size_t k = i; k < j; ++k) run.push_back(k);
      std::stable_sort(run.begin(), run.end(), [&](size_t a, size_t b) { return procs_[a].pid < procs_[b].pid; });
      for (size_t k = 1; k < run.size(); ++k)
        if (procs_[run[k]].pid == procs_[run[k - 1]].pid) procs_[run[k]].duplicate = true;
    }
    i = j;
  }
}

// Each process event's process and parent, by process_id, for the timeline's joins.
Status Builder::write_event_processes() {
  auto ins = db_.prepare(
      "INSERT INTO event_processes (event_pk, process_id, parent_id, logon_type, ip_address) VALUES (?, ?, ?, ?, ?)");
  if (!ins) return ins.error();
  // The sessions table keeps the first session of each key (ON CONFLICT DO NOTHING): so does this.
  std::vector<size_t> first(sessions_.size());
  {
    std::unordered_map<std::string, size_t> by_key;
    for (size_t k = 0; k < sessions_.size(); ++k) first[k] = by_key.try_emplace(key_of(sessions_[k]), k).first->second;
  }
  for (size_t i = 0; i < procs_.size(); ++i) {
    const Proc& p = procs_[i];
    const Session* session = p.session >= 0 ? &sessions_[first[static_cast<size_t>(p.session)]] : nullptr;
    for (int64_t event_pk : {p.create_pk, p.sysmon_pk, p.exit_pk}) {
      if (event_pk == 0) continue;
      ins->reset();
      ins->bind(1, event_pk);
      ins->bind(2, process_id(i));
      if (i < edges_.size() && edges_[i]) ins->bind(3, process_id(edges_[i]->parent)); else ins->bind_null(3);
      if (session && session->logon_type) ins->bind(4, *session->logon_type); else ins->bind_null(4);
      if (session && !text_[session->ip].empty()) ins->bind(5, text_[session->ip]); else ins->bind_null(5);
      if (ins->step() != SQLITE_DONE)
        return db_.error(fmt::format("writing the process of event {} ({})", event_pk, key_of(p)));
    }
  }
  return ok_status();
}

Status Builder::write() {
  // What points into the graph being replaced (another stage's rows) goes first, in this
  // transaction: the caller's hook.
  if (before_write_)
    if (auto s = before_write_(db_); !s) return s;
  if (auto s = db_.exec("DELETE FROM event_processes; DELETE FROM process_edges; DELETE FROM processes; "
                        "DELETE FROM sessions; DELETE FROM boots;");
      !s)
    return s;
  auto boots = db_.prepare("INSERT INTO boots (host, boot, start_time, start_kind) VALUES (?, ?, ?, ?)");
  if (!boots) return boots.error();
  std::unordered_set<uint32_t> host_ids;
  for (const auto& p : procs_) host_ids.insert(p.host.id);
  for (const auto& [h, info] : hosts_) host_ids.insert(h);
  std::vector<std::pair<std::string_view, uint32_t>> hosts;
  for (uint32_t h : host_ids) hosts.emplace_back(text_[Text{h}], h);
  std::sort(hosts.begin(), hosts.end());
  for (const auto& [name, id] : hosts) {
    auto it = hosts_.find(id);
    size_t n = it == hosts_.end() ? 0 : it->second.boundaries.size();
    for (size_t b = 0; b <= n; ++b) {
      boots->reset();
      boots->bind(1, name);
      boots->bind(2, static_cast<int64_t>(b));
      if (b == 0) boots->bind_null(3); else boots->bind(3, it->second.boundaries[b - 1]);
      boots->bind(4, std::string_view(b == 0 ? "log_start" : it->second.boundary_kind[b - 1]));
      if (boots->step() != SQLITE_DONE) return db_.error("writing boots");
    }
  }

  auto ins = db_.prepare(
      "INSERT INTO processes (process_key, host, boot, pid, image, command_line, start_time, end_time, source, "
      "create_event_pk, sysmon_event_pk, exit_event_pk, process_guid, user_sid, user_name, user_domain, logon_id, "
      "integrity_level, token_elevation, parent_command_line, hashes, original_file_name, session_key, process_id) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
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
  auto pk_or_null = [](store::Stmt& st, int i, int64_t pk) {
    if (pk) st.bind(i, pk); else st.bind_null(i);
  };
  // One row of `lookup` for this event, or none.
  auto row_of = [](store::Stmt& lookup, int64_t event_pk) {
    lookup.reset();
    if (event_pk == 0) return false;
    lookup.bind(1, event_pk);
    return lookup.step() == SQLITE_ROW;
  };
  for (size_t i = 0; i < procs_.size(); ++i) {
    const Proc& p = procs_[i];
    store::Stmt& st = *ins;
    st.reset();
    std::string key = key_of(p);
    st.bind(1, std::string_view(key));
    st.bind(2, text_[p.host]);
    st.bind(3, int64_t{p.boot});
    st.bind(4, p.pid);
    st.bind_text_or_null(5, text_[p.image]);
    // 4688's command line; Sysmon's where 4688 has none (or an empty one: auditing was off).
    std::optional<std::string> command_line;
    if (row_of(*create_text, p.create_pk) && !create_text->column_is_null(0)) command_line = create_text->column_text(0);
    bool sysmon = row_of(*sysmon_text, p.sysmon_pk);
    if (sysmon && command_line.value_or("").empty() && !sysmon_text->column_is_null(0))
      command_line = sysmon_text->column_text(0);
    if (command_line) st.bind(6, std::string_view(*command_line)); else st.bind_null(6);
    st.bind_or_null(7, p.start);
    st.bind_or_null(8, p.end);
    st.bind(9, std::string_view(source_name(p.source)));
    pk_or_null(st, 10, p.create_pk);
    pk_or_null(st, 11, p.sysmon_pk);
    pk_or_null(st, 12, p.exit_pk);
    st.bind_text_or_null(13, text_[p.guid]);
    st.bind_text_or_null(14, text_[p.user_sid]);
    st.bind_text_or_null(15, text_[p.user_name]);
    st.bind_text_or_null(16, text_[p.user_domain]);
    st.bind_or_null(17, p.logon_id);
    st.bind_text_or_null(18, text_[p.integrity]);
    st.bind_text_or_null(19, text_[p.elevation]);
    for (int c = 1; c <= 3; ++c)
      st.bind_text_or_null(19 + c, sysmon ? std::string_view(sysmon_text->column_text(c)) : std::string_view());
    std::string session = p.session >= 0 ? key_of(sessions_[p.session]) : std::string();
    st.bind_text_or_null(23, session);
    st.bind(24, process_id(i));
    if (st.step() != SQLITE_DONE) return db_.error(fmt::format("writing process {}", key));
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
    std::string child = key_of(procs_[i]), parent = key_of(procs_[e.parent]);
    st.bind(1, std::string_view(child));
    st.bind(2, std::string_view(parent));
    const char* method = method_name(e.method);
    const char* orphan = orphan_name(e.orphan);
    st.bind(3, std::string_view(method));
    st.bind(4, int64_t{e.candidates});
    sqlite3_bind_double(st.get(), 5, confidence(e));
    if (orphan) st.bind(6, std::string_view(orphan)); else st.bind_null(6);
    if (st.step() != SQLITE_DONE) return db_.error("writing a process link");
    ++stats_.links_by_method[method];
    if (orphan) ++stats_.orphans_by_reason[orphan];
  }
  if (auto s = write_event_processes(); !s) return s;

  auto ses = db_.prepare(
      "INSERT INTO sessions (session_key, host, boot, logon_id, kind, logon_event_pk, start_time, end_time, "
      "logon_type, user_sid, user_name, user_domain, ip_address, ip_port, workstation_name, auth_package, "
      "logon_process, elevated_token, special_privileges, linked_logon_id, linked_session_key) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_key) DO NOTHING");
  if (!ses) return ses.error();
  for (const Session& s : sessions_) {
    store::Stmt& st = *ses;
    st.reset();
    std::string key = key_of(s);
    st.bind(1, std::string_view(key));
    st.bind(2, text_[s.host]);
    st.bind(3, int64_t{s.boot});
    st.bind(4, s.logon_id);
    st.bind(5, std::string_view(s.kind));
    pk_or_null(st, 6, s.event_pk);
    st.bind_or_null(7, s.start);
    st.bind_or_null(8, s.end);
    st.bind_or_null(9, s.logon_type);
    st.bind_text_or_null(10, text_[s.user_sid]);
    st.bind_text_or_null(11, text_[s.user_name]);
    st.bind_text_or_null(12, text_[s.user_domain]);
    st.bind_text_or_null(13, text_[s.ip]);
    st.bind_or_null(14, s.ip_port);
    st.bind_text_or_null(15, text_[s.workstation]);
    st.bind_text_or_null(16, text_[s.auth]);
    st.bind_text_or_null(17, text_[s.logon_process]);
    st.bind_text_or_null(18, text_[s.elevated]);
    st.bind(19, int64_t{s.special ? 1 : 0});
    st.bind_or_null(20, s.linked);
    std::string linked = s.linked_session >= 0 ? key_of(sessions_[s.linked_session]) : std::string();
    st.bind_text_or_null(21, linked);
    if (st.step() != SQLITE_DONE) return db_.error("writing a session");
  }
  stats_.sessions = static_cast<int64_t>(sessions_.size());
  return ok_status();
}

Expected<BuildStats> Builder::run() {
  // The loads sort hundreds of thousands of rows (ORDER BY), and SQLite's sorter takes up to
  // the cache size for each of its threads: with the ingest's 64 MiB cache the sorts peaked at
  // 150 MB beside the builder's own data. A 16 MiB cache while loading keeps them small.
  auto cache = db_.query_int("PRAGMA cache_size");
  if (!cache) return cache.error();
  if (auto s = db_.exec("PRAGMA cache_size = -16384"); !s) return s.error();
  if (auto s = load_hosts(); !s) return s.error();
  if (auto s = load_4688(); !s) return s.error();
  if (auto s = load_sysmon(); !s) return s.error();
  for (auto& p : procs_) {
    p.boot = boot_of(p.host, *p.start);
    auto& h = hosts_[p.host.id];
    auto [it, fresh] = h.first_process_in_boot.emplace(p.boot, *p.start);
    if (!fresh) it->second = std::min(it->second, *p.start);
  }
  std::sort(procs_.begin(), procs_.end(), [&](const Proc& a, const Proc& b) {
    return std::make_tuple(text_[a.host], *a.start, a.create_pk, a.sysmon_pk) <
           std::make_tuple(text_[b.host], *b.start, b.create_pk, b.sysmon_pk);
  });
  mark_duplicate_keys();
  stats_.processes = static_cast<int64_t>(procs_.size());
  if (auto s = load_exits(); !s) return s.error();
  link_parents();
  if (auto s = load_sessions(); !s) return s.error();

  {
    // Only checked here, so freed before the write.
    ProcessGraph g(procs_.size());
    for (size_t i = 0; i < edges_.size(); ++i)
      if (edges_[i]) g.add_link(edges_[i]->parent, i);
    if (!g.is_forest())
      return Error{ErrorCode::kInternal, "process links do not form a forest (a process would be its own ancestor)"};
  }

  // Every key written here comes from this build, so per-row foreign-key lookups (events by
  // pk, processes by text key) would only repeat what the builder knows; they took 0.7 s of a
  // 3.9 s rebuild of 120,000 processes. The tests run foreign_key_check on rebuilt cases instead.
  // The write inserts into B-trees far larger than the cache: the whole cache pays there
  // (16 MiB made it 1.8 times slower).
  if (auto s = db_.exec(fmt::format("PRAGMA cache_size = {}", *cache)); !s) return s.error();
  auto tx = store::Transaction::begin(db_, {.foreign_keys_off = true}, "the graph rebuild");
  if (!tx) return tx.error();
  if (auto s = write(); !s) return s.error();
  auto story = write_story_joins(db_);
  if (!story) return story.error();
  stats_.story = *story;
  if (auto s = record_graph_built(db_); !s) return s.error();
  if (auto s = tx->commit(); !s) return s.error();
  return stats_;
}

}  // namespace

Expected<BuildStats> build_graph(store::Db& db, const BeforeWrite& before_write) {
  Builder b(db, before_write);
  return b.run();
}

}  // namespace treeline::graph
