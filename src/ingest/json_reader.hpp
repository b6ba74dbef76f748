#pragma once
// SIEM JSON exports: JSON lines, a JSON array, or one JSON document, in three shapes, detected
// per record: Winlogbeat/ECS (winlog.*, nested or dotted), NXLog-style flat (EventID, Channel,
// Hostname, EventData at the top level), and Event.System/Event.EventData (evtx_dump, Sigma).
#include <istream>
#include <string>

#include "ingest/reader.hpp"

namespace treeline::ingest {

Expected<ReadStats> read_json(std::istream& in, const RecordFn& on_record, const IssueFn& on_issue);

}  // namespace treeline::ingest
