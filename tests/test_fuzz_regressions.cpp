#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ingest/evtx_native.hpp"

namespace fs = std::filesystem;
using namespace treeline;

TEST_CASE("Inputs the fuzzer found, and hostile shapes, are read without a crash", "[native][fuzz]") {
  std::vector<std::string> inputs;
  for (const auto& e : fs::directory_iterator(TREELINE_FUZZ_REGRESSIONS)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    inputs.push_back(ss.str());
  }
  // Hand-made hostile shapes: a header alone, a chunk of 0xff, a chunk whose offsets point
  // everywhere but inside it.
  std::string header("ElfFile\0", 8);
  header.resize(4096, '\0');
  inputs.push_back(header);
  inputs.push_back(header + std::string(65536, '\xff'));
  std::string chunk("ElfChnk\0", 8);
  chunk.resize(65536, '\x41');
  chunk[48] = 0;
  chunk[49] = 0;
  chunk[50] = 1;  // free space offset 65536
  inputs.push_back(header + chunk);
  for (const auto& bytes : inputs) {
    int64_t records = 0;
    auto r = ingest::read_evtx_native_memory(
        "regression", reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
        [&](EventRecord&) {
          ++records;
          return ok_status();
        },
        [](const ingest::ReadIssue&) { return ok_status(); });
    CHECK((r.ok() || r.error().code == ErrorCode::kBadInput));
  }
  CHECK(inputs.size() >= 3);
}
