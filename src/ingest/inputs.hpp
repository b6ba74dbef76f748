#pragma once
// Input expansion and sniffing: which paths are logs, and what their first bytes say they are.
// Internal to the ingester.
#include <filesystem>
#include <string_view>

namespace treeline::ingest {

enum class Kind { kEvtx, kJson, kXml, kUnknown };

// A name a log has (.evtx, .json, .xml, an archive), or the EVTX signature under any name.
bool looks_like_log(const std::filesystem::path& p);
// What the first bytes say: the EVTX signature, or the first character of JSON or XML text.
Kind sniff(std::string_view head);
const char* kind_name(Kind k);

}  // namespace treeline::ingest
