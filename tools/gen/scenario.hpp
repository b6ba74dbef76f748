#pragma once
// Scenarios: a JSON description of hosts, boots, logons, process spawns and exits, log clears
// and time, turned into EVTX files plus the truth about every process (its real parent and
// logon session), which the tests hold treeline's graph against.
#include <nlohmann/json.hpp>

#include <string>

namespace treeline::gen {

struct GenerateResult {
  size_t records = 0;
  size_t processes = 0;
  size_t files = 0;
};

// Writes <out_dir>/logs/<host>-<log>.evtx for every log a host has, and <out_dir>/truth.jsonl. With
// `exports`, it writes the same records as a Winlogbeat/ECS JSON-lines export
// (<host>-<log>.ecs.jsonl) and a `wevtutil qe /f:xml` export (<host>-<log>.xml) instead of EVTX.
GenerateResult generate_scenario(const nlohmann::json& scenario, const std::string& out_dir, bool exports = false);

// A large realistic Security log for benchmarks: `events` records, mostly noise (5156), with
// 4688/4689/4624/4634/4672 in a busy server's proportions and consistent parents.
GenerateResult generate_bulk(size_t events, const std::string& out_path, uint32_t seed);

}  // namespace treeline::gen
