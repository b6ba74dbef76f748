// Lose nothing: a log cut short is kept as far as it goes and says so, and every path an ingest
// meets stays in the chain of custody, read or not. Everything through the binary, on copies of
// a real log made here.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "support.hpp"

namespace fs = std::filesystem;
using treeline::test::run_treeline;
using treeline::test::scalar;
using treeline::test::TempDir;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace

// A log cut short (a copy that stopped, a collection tool's size limit) or with its last chunks
// zeroed is read as far as it goes, marked partial, and says where it ends: exit 3, never
// "complete". Cut copies of a real log, made here.
TEST_CASE("A real log cut at byte 300,000 or with a zeroed chunk is partial, says where, and exits 3",
          "[robustness][cut]") {
  const fs::path real = treeline::test::shared_data() / "evtx-rs" / "security.evtx";
  TempDir dir;
  std::string bytes = slurp(real);
  REQUIRE(bytes.size() > 1000000);
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir.file(name), std::ios::binary) << content;
    return dir.file(name);
  };
  // Cut in the middle of a chunk; and cut at a chunk boundary (the header still counts more).
  for (size_t cut : {size_t{300000}, size_t{4096 + 8 * 65536}}) {
    std::string log = write("cut.evtx", bytes.substr(0, cut)), db = dir.file("cut.db");
    fs::remove(db);
    auto r = run_treeline({"ingest", db, log});
    INFO(cut << ": " << r.err);
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("byte " + std::to_string(cut)) && Catch::Contains("cut short"));
    CHECK_THAT(r.out, Catch::Contains("partial (cut short)"));
    CHECK(scalar(db, "SELECT count(*) FROM sources WHERE status = 'partial'") == 1);
    CHECK(scalar(db, "SELECT count(*) FROM events") > 300);
    // Ingested again: the same bytes, already in the case, nothing lost twice.
    auto again = run_treeline({"ingest", "-q", db, log});
    CHECK(again.exit_code == 0);
    CHECK(scalar(db, "SELECT count(*) FROM sources") == 1);
    CHECK(scalar(db, "SELECT count(*) FROM pragma_foreign_key_check") == 0);
  }
  // The whole log is complete (the control).
  {
    auto r = run_treeline({"ingest", "-q", dir.file("whole.db"), real.string()});
    CHECK(r.exit_code == 0);
    CHECK(scalar(dir.file("whole.db"), "SELECT count(*) FROM sources WHERE status = 'complete'") == 1);
  }
  // Its last chunk in use zeroed: the header's last chunk number says which.
  {
    uint64_t last_chunk = 0;
    for (int i = 7; i >= 0; --i) last_chunk = (last_chunk << 8) | static_cast<unsigned char>(bytes[16 + i]);
    std::string zeroed = bytes;
    size_t at = 4096 + last_chunk * 65536;
    REQUIRE(at + 65536 <= zeroed.size());
    std::fill(zeroed.begin() + static_cast<std::ptrdiff_t>(at), zeroed.begin() + static_cast<std::ptrdiff_t>(at + 65536), '\0');
    std::string log = write("zeroed.evtx", zeroed), db = dir.file("zeroed.db");
    auto r = run_treeline({"ingest", db, log});
    INFO(r.err);
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("chunk " + std::to_string(last_chunk)) && Catch::Contains("are all zeros"));
    CHECK(scalar(db, "SELECT count(*) FROM sources WHERE status = 'partial'") == 1);
  }
}

// 19 of a capattack folder's 309 files are copies of others: they are not read again, but where
// they were is kept.
TEST_CASE("Copies of a log already in the case are not read again, and their paths are kept", "[custody]") {
  const fs::path real = treeline::test::shared_data() / "evtx-rs" / "security.evtx";
  TempDir dir;
  fs::create_directories(dir.path() / "collection" / "copy");
  fs::copy_file(real, dir.path() / "collection" / "Security.evtx");
  fs::copy_file(real, dir.path() / "collection" / "copy" / "Security (1).evtx");
  const std::string db = dir.file("case.db");
  auto first = run_treeline({"ingest", "-q", db, dir.file("collection")});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(scalar(db, "SELECT count(*) FROM sources") == 1);
  CHECK(scalar(db, "SELECT count(*) FROM source_paths_v") == 2);
  CHECK(scalar(db, "SELECT count(*) FROM source_paths_v WHERE how = 'same_bytes' AND path LIKE '%Security (1).evtx' "
                   "AND size = " + std::to_string(fs::file_size(real)) + " AND read_as LIKE '%collection/Security.evtx'") == 1);
  // Again, and from a third place: each path once.
  REQUIRE(run_treeline({"ingest", "-q", db, dir.file("collection")}).exit_code == 0);
  fs::copy_file(real, dir.path() / "third.evtx");
  REQUIRE(run_treeline({"ingest", "-q", db, dir.file("third.evtx")}).exit_code == 0);
  CHECK(scalar(db, "SELECT count(*) FROM source_paths_v") == 3);
  CHECK(scalar(db, "SELECT count(*) FROM sources") == 1);
  CHECK(scalar(db, "SELECT count(*) FROM pragma_foreign_key_check") == 0);
}
