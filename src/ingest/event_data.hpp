#pragma once
// The `data` of a record: its EventData (or UserData) fields as one JSON object, the same for an
// EVTX record and for its XML or JSON export.
//   - keys are the field names, in the record's order; values are text, as the event has them
//     (binary as the hex the reader renders);
//   - a name that occurs more than once holds an array of its values, in order;
//   - unnamed <Data> elements (classic providers) are Data_1, Data_2, ... in order;
//   - a record without fields has no data (NULL), not "{}".
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/event_catalog.hpp"

namespace treeline::ingest {

// names[i] is the name of values[i]; an empty name is an unnamed <Data>.
std::optional<std::string> event_data_json(const std::vector<std::string_view>& names,
                                           const std::vector<std::string>& values);

// Appends named fields to a record, in the record's order: its owned names and values, and
// r.names as views of all its owned names.
void take_fields(EventRecord& r, std::vector<std::pair<std::string, std::string>>&& fields);

// System/Execution/@ProcessID as any reader has it (decimal, or hex): nothing when absent, or
// when it is no 32-bit number (a damaged record keeps its other fields).
std::optional<uint32_t> execution_pid_of(std::string_view text);

}  // namespace treeline::ingest
