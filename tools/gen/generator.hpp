#pragma once
// The scenario generator's world (internal to treeline-gen): hosts, sessions, processes, the logs
// they write, and the Generator that walks a scenario's timeline. scenario.cpp holds processes,
// boots and the timeline; scenario_records.cpp the other records (logons, 4648s, Sysmon 3,
// tasks), the SIEM exports and the files written.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "events.hpp"
#include "scenario.hpp"

namespace treeline::gen::detail {

using nlohmann::json;

constexpr int64_t kTick = 10'000'000;  // FILETIME ticks per second

struct Session {
  std::string id;
  int64_t logon_id = 0;
  std::string user, domain, sid;
  int type = 0;
  bool admin = false;
  bool elevated = false;
};

struct Process {
  std::string id;
  std::string host;
  int64_t pid = 0;
  std::string image, cmd;
  std::string session;       // session id
  std::string run_as;        // session id of the token when it differs (4688 v2 Target*)
  std::string integrity;     // Low/Medium/High/System
  std::string elevation;     // %%1936 / %%1937 / %%1938
  std::string parent;        // process id, "" for none
  int64_t start = 0;
  int boot = 0;
  bool logged = false;       // its 4688 is in the log (and survived any clear)
  bool alive = true;
  std::string guid;
  std::string original_file_name;
  uint64_t record_id = 0;
  std::string expect_orphan;
};

struct LogFile {
  std::string name;  // "Security", "Sysmon", ...
  std::vector<std::tuple<const EventDef*, std::vector<Value>, uint64_t, int64_t>> records;
  uint64_t next_record_id = 1;
};

struct Host {
  std::string name, computer;
  int process_version = 2;
  bool command_line = true;
  bool exits = true;
  bool sysmon = false;
  std::optional<int64_t> audit_from;  // FILETIME from which 4688/4689 are written
  std::vector<int64_t> pool;          // fixed PID pool, or empty
  int64_t next_pid = 4;
  std::deque<int64_t> released;
  std::set<int64_t> in_use;
  int boot = 0;
  std::map<std::string, LogFile> logs;
  int64_t clock_offset = 0;  // FILETIME ticks this host's clock runs ahead of true time
  std::string ip;            // its address, as other hosts' logs and its own Sysmon 3 name it
};

inline std::string xml_escape(const std::string& t) {
  std::string e;
  for (char c : t) {
    switch (c) {
      case '&': e += "&amp;"; break;
      case '<': e += "&lt;"; break;
      case '>': e += "&gt;"; break;
      case '\'': e += "&apos;"; break;
      case '"': e += "&quot;"; break;
      default: e += c;
    }
  }
  return e;
}

inline std::string hex(int64_t v) { return fmt::format("0x{:x}", v); }

inline const char* label_sid(const std::string& integrity) {
  if (integrity == "Low") return "S-1-16-4096";
  if (integrity == "Medium") return "S-1-16-8192";
  if (integrity == "High") return "S-1-16-12288";
  return "S-1-16-16384";
}

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  void load(const json& s);
  void run(const json& timeline);
  GenerateResult write(const std::string& out_dir, bool exports);

 private:
  Host& host(const std::string& name);
  int64_t allocate_pid(Host& h);
  void release_pid(Host& h, int64_t pid);
  uint64_t emit(Host& h, const std::string& log, const std::string& channel, uint32_t id, int version, int64_t t,
                const std::map<std::string, std::string>& data, uint32_t execution_pid = 4);
  void logon(Host& h, const json& j, int64_t t);
  void explicit_logon(Host& h, const json& j, int64_t t);
  void connection(Host& h, const json& j, int64_t t);
  void task(Host& h, const json& j, int64_t t);
  const Process& process(const std::string& id) const;
  const Session& session(const std::string& id);
  void spawn(Host& h, const json& j, int64_t t, bool log_it);
  void exit_process(const std::string& id, int64_t t);
  void boot(Host& h, int64_t t);
  void storm(Host& h, const json& j, int64_t& t);
  bool audited(const Host& h, int64_t t) const { return !h.audit_from || t >= *h.audit_from; }

  std::mt19937 rng_;
  int64_t start_ = 0;
  std::map<std::string, Host> hosts_;
  std::map<std::string, Session> sessions_;
  std::map<std::string, Process> processes_;
  std::vector<std::string> order_;  // process ids in creation order
  std::vector<json> links_;  // the truth about the story joins (links.jsonl)
  int64_t next_logon_ = 0x1a2b00;
  uint64_t guid_counter_ = 1;
};

}  // namespace treeline::gen::detail
