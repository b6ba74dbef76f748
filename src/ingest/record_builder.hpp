#pragma once
// Turns an exported event (JSON or XML: named fields, text values) into the same EventRecord the
// EVTX reader makes, with the same normalization: canonical channel, the record's own time,
// typed values by name, and the event version inferred from the fields when the export lacks it.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/event_catalog.hpp"
#include "core/expected.hpp"

namespace treeline::ingest {

struct ExportedEvent {
  std::string event_id, channel, provider, computer, time, record_id, version, message, execution_pid;
  std::string stand_in_id;  // treeline's own export of a record that had none: the negative id it got
  std::vector<std::pair<std::string, std::string>> data;  // EventData / UserData by name
  // The text of the record and where it stands in its file ("line 12"): without an EventRecordID
  // they are its identity, so that two identical lines stay two events.
  std::string raw;
};

// Fills `out`; an Error says which required field is missing or malformed.
Status build_record(ExportedEvent&& in, EventRecord& out);

}  // namespace treeline::ingest
