#pragma once
// Which events a Sigma logsource means, as SigmaHQ's pySigma Windows and Sysmon pipelines map them:
// a service is a channel, a category is a channel with event ids. process_creation is Sysmon 1 and
// Security 4688 both, the 4688 read through the Sysmon field names (sigma_fields.hpp).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "detect/sigma_rule.hpp"

namespace treeline::detect::sigma {

struct EventSource {
  std::string channel;
  std::vector<uint32_t> event_ids;  // empty: every event of the channel
};

struct LogsourceEvents {
  std::vector<EventSource> sources;
  std::string key;  // the same for logsources that mean the same events: they are scanned once
};

// Nothing when the logsource is not one treeline reads (not Windows, or an ETW-only category such
// as file_access); the hunt says so for every such rule.
std::optional<LogsourceEvents> logsource_events(const Logsource& logsource);

}  // namespace treeline::detect::sigma
