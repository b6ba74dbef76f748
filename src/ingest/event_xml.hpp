#pragma once
// Reads the parts of a rendered event XML that libevtx's API does not hand out: the channel,
// the version, and EventData/UserData values with their names.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/expected.hpp"

namespace treeline::ingest {

struct EventXml {
  std::string channel;
  std::string provider;
  std::string computer;
  int version = -1;
  std::string event_id;      // EventID as written
  std::string time_created;  // TimeCreated/@SystemTime as written
  std::string record_id;     // EventRecordID as written
  std::string execution_pid;  // Execution/@ProcessID as written
  // EventData <Data Name="X">v</Data> pairs, or the leaf elements of UserData's single child.
  std::vector<std::pair<std::string, std::string>> data;
};

Expected<EventXml> parse_event_xml(std::string_view xml);

}  // namespace treeline::ingest
