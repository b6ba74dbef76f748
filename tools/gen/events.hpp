#pragma once
// The events the generator can write: their System header values and EventData layouts. The
// EventData names of the events treeline reads come from treeline's own catalog, so what the
// generator writes is what the reader expects, version by version.
#include <map>
#include <string>
#include <vector>

#include "evtx_writer.hpp"

namespace treeline::gen {

struct EventDef {
  std::string channel;
  std::string provider;
  std::string provider_guid;
  uint32_t id = 0;
  uint8_t version = 0;
  uint8_t level = 0;
  uint16_t task = 0;
  uint8_t opcode = 0;
  uint64_t keywords = 0;
  std::vector<std::pair<std::string, ValueType>> fields;
  // UserData events (1102) put their fields under <UserData><element xmlns=...>.
  std::string user_data_element;
  std::string user_data_ns;
  Template tmpl;  // built from the above
};

// channel/id/version, e.g. "Security/4688/2". Throws for an unknown one.
const EventDef& event_def(const std::string& channel, uint32_t id, int version);

// One record's values in template order: the System values, then the fields by name
// ("-" or missing means Windows' "-" for strings, 0 for numbers).
std::vector<Value> event_values(const EventDef& def, uint64_t record_id, int64_t time, const std::string& computer,
                                uint32_t process_id, uint32_t thread_id, const std::map<std::string, std::string>& data);

}  // namespace treeline::gen
