#pragma once
// Writes hand-made events straight into a case through the CaseWriter, so graph tests can state
// exactly what happened. (EVTX fixtures with the same stories come from the generator.)
#include <fmt/format.h>

#include <string>
#include <vector>

#include "core/event_catalog.hpp"
#include "core/time.hpp"
#include "store/case_writer.hpp"

namespace treeline::test {

class SyntheticLog {
 public:
  explicit SyntheticLog(std::string computer) : computer_(std::move(computer)) {}

  static int64_t at(double seconds) { return *iso_to_filetime("2024-03-01T08:00:00Z") + static_cast<int64_t>(seconds * 1e7); }

  // 4688 version 2 (15 values) or, with parent_image empty and v0 = true, version 0 (8 values).
  void process(double t, int64_t pid, int64_t ppid, const std::string& image, const std::string& parent_image,
               int64_t logon = 0x3e7, const std::string& cmd = "", bool v0 = false, int64_t target_logon = 0) {
    t_ = t;
    bool system = logon == 0x3e7;
    std::vector<std::string> v = {system ? "S-1-5-18" : "S-1-5-21-1001", system ? "SYSTEM" : "alice",
                                  system ? "NT AUTHORITY" : "CORP", hex(logon), hex(pid), image, "%%1936", hex(ppid)};
    if (!v0) {
      v.insert(v.end(), {cmd, "S-1-0-0", "-", "-", hex(target_logon), parent_image, "S-1-16-16384"});
    }
    add("Security", 4688, v);
  }
  void exit(double t_exit, int64_t pid, const std::string& image) {
    t_ = t_exit;
    add("Security", 4689, {"S-1-5-18", "SYSTEM", "NT AUTHORITY", "0x3e7", "0x0", hex(pid), image});
  }
  void boot(double t) { t_ = t; add("Security", 4608, {}); }
  void clear(double t) { t_ = t; add("Security", 1102, {"S-1-5-21-1", "mallory", "CORP", "0x1234"}); }
  void logon(double t, int64_t logon_id, int type, const std::string& user, const std::string& ip,
             int64_t linked = 0, const std::string& elevated = "%%1843") {
    t_ = t;
    add("Security", 4624,
        {"S-1-5-18", "HOST$", "CORP", "0x3e7", "S-1-5-21-1001", user, "CORP", hex(logon_id), std::to_string(type),
         "NtLmSsp", "NTLM", "WKS7", "{00000000-0000-0000-0000-000000000000}", "-", "NTLM V2", "128", "0x0", "-", ip,
         "49152", "%%1833", "-", "-", "-", "%%1843", hex(linked), elevated});
  }
  void special(double t, int64_t logon_id) {
    t_ = t;
    add("Security", 4672, {"S-1-5-21-1001", "alice", "CORP", hex(logon_id), "SeDebugPrivilege"});
  }
  void logoff(double t, int64_t logon_id) {
    t_ = t;
    add("Security", 4634, {"S-1-5-21-1001", "alice", "CORP", hex(logon_id), "3"});
  }
  void sysmon(double t, int64_t pid, const std::string& image, const std::string& guid, int64_t ppid,
              const std::string& parent_image, const std::string& parent_guid, const std::string& ofn = "") {
    t_ = t;
    add("Microsoft-Windows-Sysmon/Operational", 1,
        {"-", "2024-03-01 08:00:00.000", guid, std::to_string(pid), image, "1.0", "-", "-", "-", ofn, image,
         "C:\\", "NT AUTHORITY\\SYSTEM", "{x}", "0x3e7", "0", "System", "SHA256=00", parent_guid,
         std::to_string(ppid), parent_image, parent_image});
  }
  // Makes the last 4688 name another creator (PID and ParentProcessName).
  void retarget_last_parent(int64_t ppid, const std::string& parent_image) {
    EventRecord& r = records_.back();
    r.values[7] = hex(ppid);
    if (r.values.size() == 15) r.values[13] = parent_image;
  }

  Status write(store::Db& db, const std::string& name) {
    store::CaseWriter w(db);
    store::SourceInfo s;
    s.path = name;
    s.sha256 = fmt::format("{:0>64}", fmt::format("{:x}", std::hash<std::string>{}(name + computer_)));
    s.reader = "synthetic";
    if (auto st = w.begin_source(s); !st) return st;
    for (auto& r : records_) {
      if (auto a = w.add(r); !a) return a;
    }
    return w.commit_source({}, true);
  }

 private:
  static std::string hex(int64_t v) { return fmt::format("0x{:x}", v); }
  void add(const char* channel, uint32_t id, std::vector<std::string> values) {
    EventRecord r;
    r.record_id = ++record_id_;
    r.time = at(t_);
    r.event_id = id;
    r.channel = channel;
    r.computer = computer_;
    r.spec = find_event_spec(channel, id);
    r.values = std::move(values);
    if (const LayoutSpec* l = r.spec->layout_for(r.values.size())) {
      r.version = l->version;
      r.names.assign(l->names.begin(), l->names.end());
    }
    records_.push_back(std::move(r));
  }

  std::string computer_;
  double t_ = 0;
  uint64_t record_id_ = 0;
  std::vector<EventRecord> records_;

};

}  // namespace treeline::test
