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
#include <vector>

namespace treeline::ingest {

// names[i] is the name of values[i]; an empty name is an unnamed <Data>.
std::optional<std::string> event_data_json(const std::vector<std::string_view>& names,
                                           const std::vector<std::string>& values);

}  // namespace treeline::ingest
