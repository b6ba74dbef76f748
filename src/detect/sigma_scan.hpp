#pragma once
// Runs Sigma rules over a case's events: each logsource's events are read once, for every rule
// on that logsource. A 4688 answers to the Sysmon field names of process_creation (Image,
// ParentImage, ProcessId, User, IntegrityLevel, ...), as the pipeline's Security mapping does.
#include <cstdint>
#include <functional>
#include <string_view>
#include <string>
#include <utility>
#include <vector>

#include "core/expected.hpp"
#include "detect/sigma_rule.hpp"
#include "store/sqlite.hpp"

namespace treeline::detect::sigma {

// One rule matching one event. A hunt holds hundreds of thousands: the names every hit repeats
// (host, channel) are views of one copy each (interned for the life of the process).
struct SigmaHit {
  uint32_t rule = 0;  // index into SigmaSet::rules
  uint16_t event_id = 0;
  bool recovered = false;
  int64_t event_pk = 0;
  std::string_view host;  // hosts.short_name
  int64_t time = 0;  // FILETIME
  std::string_view channel;
  int64_t record_id = 0;
  // What ties the event to its process: Sysmon's ProcessGuid (SourceProcessGuid for a process
  // access), else the ProcessId the event names, as written; for the PowerShell logs, whose
  // events name none, the Execution ProcessID of the host that wrote them.
  std::string process_guid, process_id;
  std::string logon_id;  // SubjectLogonId, as written: the session, when no process is known
  // A JSON object: each field the rule tests, with the event's value (empty for a rule only a
  // correlation counts, which is never shown).
  std::string matched;
  std::vector<std::pair<std::string, std::string>> captured;  // the rule's `captured` fields the event has
};

using Hits = std::vector<SigmaHit>;

// The one copy of `name` that hits point to (a host or channel name), kept for the process's life.
std::string_view intern_name(std::string_view name);

struct ScanReport {
  Hits hits;  // by rule, then event
  int64_t events_scanned = 0;  // events read, once per logsource
  int64_t evaluations = 0;     // rule-on-event evaluations the prefilters left to do
  std::vector<size_t> rules_without_events;  // logsources treeline does not read (not run)
};

// Adds to a process creation (4688, Sysmon 1) what the process tree knows and the event does not
// (ParentCommandLine from the reconstructed parent): called with the event and a function that
// adds a field the event lacks.
using Enrich = std::function<void(int64_t event_pk, const std::function<void(std::string_view, std::string_view)>& add)>;

// `threads` readers (0: one per core, at most 4), each on its own connection to the case, share
// the events in ranges of event_pk; the hits come out in the same order however many there are.
// `enrich` is called from those threads: it must only read.
Expected<ScanReport> scan_case(store::Db& db, const SigmaSet& set, const Enrich& enrich = {}, unsigned threads = 0);

}  // namespace treeline::detect::sigma
