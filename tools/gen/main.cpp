// treeline-gen: writes EVTX fixtures from scenario descriptions, with the truth about every
// process, and large realistic logs for benchmarks.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "scenario.hpp"

int main(int argc, char** argv) {
  CLI::App app{"treeline-gen: EVTX from scenario descriptions, with the true process tree"};
  std::string scenario, out;
  size_t events = 1'000'000;
  bool bulk = false;
  bool exports = false;
  uint32_t seed = 1;
  app.add_option("SCENARIO.json", scenario, "Scenario file");
  app.add_option("-o,--out", out, "Output folder (scenario) or file (--events)")->required();
  app.add_flag("--bulk", bulk, "Write one large realistic Security log instead of a scenario");
  app.add_option("--events", events, "Records in the --bulk log")->capture_default_str();
  app.add_option("--seed", seed, "Random seed for --bulk");
  app.add_flag("--exports", exports, "Write the scenario as a Winlogbeat/ECS JSON and a wevtutil XML export instead of EVTX");
  CLI11_PARSE(app, argc, argv);
  try {
    if (bulk) {
      auto r = treeline::gen::generate_bulk(events, out, seed);
      fmt::print("{}: {} records\n", out, r.records);
      return 0;
    }
    if (scenario.empty()) {
      fmt::print(stderr, "treeline-gen: give SCENARIO.json, or --bulk [--events N]\n");
      return 2;
    }
    std::ifstream in(scenario);
    if (!in) {
      fmt::print(stderr, "treeline-gen: {}: cannot read\n", scenario);
      return 1;
    }
    auto j = nlohmann::json::parse(in, nullptr, true, /*ignore_comments=*/true);
    auto r = treeline::gen::generate_scenario(j, out, exports);
    fmt::print("{}: {} files, {} records, {} logged processes\n", out, r.files, r.records, r.processes);
  } catch (const std::exception& e) {
    fmt::print(stderr, "treeline-gen: {}: {}\n", scenario.empty() ? out : scenario, e.what());
    return 1;
  }
  return 0;
}
