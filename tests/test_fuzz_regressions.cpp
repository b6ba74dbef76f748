#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ingest/evtx_native.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace treeline;

namespace {

struct Read {
  bool ok = false;
  int64_t records = 0;
  int64_t issues = 0;
  ingest::ReadStats stats;
};

Read read_bytes(const std::string& bytes) {
  Read out;
  auto r = ingest::read_evtx_native_memory(
      "damaged", reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
      [&](EventRecord&) {
        ++out.records;
        return ok_status();
      },
      [&](const ingest::ReadIssue&) {
        ++out.issues;
        return ok_status();
      });
  out.ok = r.ok();
  if (r) out.stats = *r;
  return out;
}

}  // namespace

// Real damage, made in memory from a real log read in place: every good chunk is still read, and
// the damage is counted, never silently dropped.
TEST_CASE("Damaged copies of a real log keep every record outside the damage", "[native][fuzz][real]") {
  auto path = test::shared_data() / "evtx-rs/security.evtx";
  std::ifstream in(path, std::ios::binary);
  std::string whole((std::istreambuf_iterator<char>(in)), {});
  REQUIRE(whole.size() > 4096 + 3 * 65536);
  Read clean = read_bytes(whole);
  REQUIRE(clean.ok);
  REQUIRE(clean.records == 2261);
  constexpr size_t kChunk = 65536, kHeader = 4096;
  const size_t chunks = (whole.size() - kHeader) / kChunk;

  SECTION("a record's bytes overwritten in the middle of chunk 1") {
    std::string bad = whole;
    for (size_t i = kHeader + kChunk + 20000; i < kHeader + kChunk + 20400; ++i) bad[i] = '\x5a';
    Read r = read_bytes(bad);
    CHECK(r.ok);
    CHECK(r.stats.skipped > 0);  // the loss is said (the rest of that chunk is one skip)
    // Every other chunk is there: at most chunk 1's records are missing.
    CHECK(r.records >= clean.records - 2 * clean.records / static_cast<int64_t>(chunks));
    CHECK(r.records < clean.records);
  }
  SECTION("a chunk signature destroyed: said, and the chunk is read all the same") {
    std::string bad = whole;
    bad.replace(kHeader + 2 * kChunk, 8, "XXXXXXXX");
    Read r = read_bytes(bad);
    CHECK(r.ok);
    CHECK(r.issues > 0);
    CHECK(r.records + r.stats.skipped >= clean.records - clean.records / static_cast<int64_t>(chunks));
  }
  SECTION("cut at every 9,973rd byte: never a crash, never more records than whole") {
    for (size_t cut = kHeader; cut < whole.size(); cut += 9973) {
      Read r = read_bytes(whole.substr(0, cut));
      INFO(cut);
      CHECK(r.records <= clean.records);
      if (cut >= kHeader + kChunk) CHECK(r.records > 0);  // the first whole chunk is read
    }
  }
}

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
