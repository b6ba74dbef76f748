#pragma once
// The timeline's SQL, and the names it shares between its reading threads. Internal to
// timeline.cpp.
#include <cstdint>
#include <string>
#include <unordered_map>

#include "report/timeline.hpp"
#include "store/sqlite.hpp"

namespace treeline::report::timeline_detail {

// Columns of the timeline's SELECT.
enum Col { kTime, kHost, kEventId, kChannel, kRecordId, kPath, kProcessKey, kLogon = 14, kIp = 16, kEventPk, kData };

// The statement for these options: one instant only (ordered by SQLite), or a time slice whose
// low (?7) and high (?8) ends may be bound.
std::string timeline_sql(const TimelineOptions& o, bool one_instant, bool slice_lo, bool slice_hi);

// Host, channel and source names by id, and the rules that flagged each process: read once and
// shared by the reading threads, instead of joined per event. (Findings are one per process and
// action, far fewer than events.)
struct Names {
  std::unordered_map<int64_t, std::string> hosts, channels, sources;
  std::unordered_map<std::string, std::string> rules;  // process_key -> rule ids, ';' between
  static Expected<Names> load(store::Db& db);
  static const std::string& of(const std::unordered_map<int64_t, std::string>& map, int64_t id);
};

}  // namespace treeline::report::timeline_detail
