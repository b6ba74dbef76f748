// Every record Windows reads, and old records carved without misattribution: the whole of
// ../shared/data through the binary against evtx_dump's counts (COUNTS_EVTX_RS.tsv) and
// libevtx's recovery; and a chunk turned into free space here, whose records must come back as
// they were.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "ingest/evtx_libevtx.hpp"
#include "ingest/evtx_native.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using treeline::test::run_treeline;
using treeline::test::TempDir;
namespace ingest = treeline::ingest;

namespace {

json query(const std::string& db, const std::string& sql) {
  auto r = run_treeline({"query", "--format", "json", db, sql});
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

uint32_t rd32(const std::string& b, size_t at) {
  return static_cast<uint8_t>(b[at]) | (static_cast<uint8_t>(b[at + 1]) << 8) |
         (static_cast<uint8_t>(b[at + 2]) << 16) | (static_cast<uint32_t>(static_cast<uint8_t>(b[at + 3])) << 24);
}
void wr32(std::string& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

using Key = std::tuple<uint64_t, int64_t>;  // record id, time
struct Seen {
  uint32_t event_id;
  std::string channel, provider, data;
  bool recovered;
};

std::map<Key, Seen> read_native(const std::string& bytes, bool carve, int64_t* fragments = nullptr) {
  std::map<Key, Seen> out;
  ingest::NativeOptions o;
  o.carve = carve;
  auto r = ingest::read_evtx_native_memory(
      "wrapped", reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
      [&](treeline::EventRecord& e) {
        out[{e.record_id, e.time}] = {e.event_id, e.channel, e.provider, e.data.value_or(""), e.recovered};
        return treeline::ok_status();
      },
      [](const ingest::ReadIssue&) { return treeline::ok_status(); }, o);
  REQUIRE(r.ok());
  if (fragments) *fragments = r->fragments;
  return out;
}

}  // namespace

TEST_CASE("Every EVTX in ../shared/data: at least evtx_dump's records, and carved records never another log's",
          "[real][carving]") {
  const fs::path data = treeline::test::shared_data();
  std::ifstream tsv(data / "COUNTS_EVTX_RS.tsv");
  REQUIRE(tsv.good());
  std::map<std::string, int64_t> evtx_rs;
  std::string line;
  std::getline(tsv, line);  // header
  while (std::getline(tsv, line)) {
    auto tab = line.rfind('\t');
    if (tab != std::string::npos) evtx_rs[line.substr(0, tab)] = std::stoll(line.substr(tab + 1));
  }
  REQUIRE(evtx_rs.size() > 900);
  TempDir dir;
  const std::string db = dir.file("all.db");
  auto r = run_treeline({"ingest", "-q", "--threads", "2", db, data.string()});
  REQUIRE((r.exit_code == 0 || r.exit_code == 3));

  // Live records per path (a copy of bytes already in the case counts as its original).
  std::map<std::string, int64_t> live;
  for (const auto& row : query(db, "SELECT sp.path AS path, s.records_read - s.records_recovered AS n "
                                   "FROM source_paths sp JOIN sources s USING (source_id) WHERE sp.member = ''"))
    live[fs::relative(row["path"].get<std::string>(), data).string()] = row["n"].get<int64_t>();
  int64_t ours = 0, theirs = 0;
  std::vector<std::string> short_files;
  for (const auto& [path, n] : evtx_rs) {
    INFO(path);
    REQUIRE(live.count(path) == 1);
    ours += live[path];
    theirs += n;
    if (live[path] < n) short_files.push_back(path);
  }
  // The one record evtx_dump reads and treeline does not is all zeros (record 6 of
  // HelloForBusiness, being written when the log was copied: EventID 0 at 1601-01-01); it is an
  // issue that says so, not an event.
  CHECK(short_files == std::vector<std::string>{"evtx-rs/Microsoft-Windows-HelloForBusiness%4Operational.evtx"});
  CHECK(query(db, "SELECT count(*) AS n FROM ingest_issues i JOIN sources s USING (source_id) WHERE s.path LIKE "
                  "'%HelloForBusiness%' AND i.location LIKE 'record 6 %' AND i.reason LIKE 'incomplete record%'")[0]["n"] == 1);
  CHECK(ours >= theirs - 1);
  WARN(fmt::format("{} EVTX files: treeline reads {} live records, evtx_dump {}", evtx_rs.size(), ours, theirs));

  // An event first stored from a carved copy (another file's free space) belongs to the file
  // where it is live, once that file is read: this one's 11 records are all its own.
  CHECK(query(db, "SELECT count(*) AS n FROM events_v WHERE NOT recovered AND source_path LIKE "
                  "'%ID800-4103-4104-PowerShell BITS job started.evtx'")[0]["n"] == 11);

  // Carved records are of the log their template names: in Security, only Security's providers;
  // channel and provider are names, never bytes read as text.
  CHECK(query(db, "SELECT count(*) AS n FROM events_v WHERE recovered AND channel = 'Security' AND provider NOT IN "
                  "('Microsoft-Windows-Security-Auditing', 'Microsoft-Windows-Eventlog')")[0]["n"] == 0);
  CHECK(query(db, "SELECT count(*) AS n FROM events_v WHERE recovered AND (provider GLOB '*[^ -~]*' OR channel GLOB "
                  "'*[^ -~]*')")[0]["n"] == 0);
  // libevtx's recovery stored these 29 as Security events of Microsoft-Windows-NTLM (event 8001).
  CHECK(query(db, "SELECT count(*) AS n FROM events_v WHERE source_path LIKE '%ID4732-User added to local admin "
                  "groups.evtx' AND provider = 'Microsoft-Windows-NTLM' AND channel = 'Security'")[0]["n"] == 0);

  // libevtx's recovery as a cross-check, on every file with carved records: where both read a
  // record and libevtx knows its channel, they agree on channel, provider and event id.
  std::set<std::string> files;
  for (const auto& row : query(db, "SELECT DISTINCT s.path AS path FROM events e JOIN sources s USING (source_id) "
                                   "WHERE e.recovered AND s.member IS NULL"))
    files.insert(row["path"].get<std::string>());
  REQUIRE(!files.empty());
  int64_t carved = 0, by_libevtx = 0, both = 0, disagree = 0, unknown_channel = 0;
  for (const auto& path : files) {
    std::map<Key, Seen> theirs_recovered;
    ingest::ReadOptions ro;
    ro.recovered_only = true;
    (void)ingest::read_evtx_libevtx(
        path,
        [&](treeline::EventRecord& e) {
          if (e.recovered) theirs_recovered[{e.record_id, e.time}] = {e.event_id, e.channel, e.provider, "", true};
          return treeline::ok_status();
        },
        [](const ingest::ReadIssue&) { return treeline::ok_status(); }, ro);
    std::string quoted = path;
    for (size_t at = 0; (at = quoted.find('\'', at)) != std::string::npos; at += 2) quoted.insert(at, "'");
    auto mine = query(db, "SELECT record_id, time_ft, channel, provider, event_id FROM events_v WHERE recovered AND "
                          "source_path = '" + quoted + "'");
    carved += static_cast<int64_t>(mine.size());
    by_libevtx += static_cast<int64_t>(theirs_recovered.size());
    for (const auto& m : mine) {
      auto it = theirs_recovered.find({m["record_id"].get<uint64_t>(), m["time_ft"].get<int64_t>()});
      if (it == theirs_recovered.end()) continue;
      ++both;
      if (it->second.channel == "(unknown)") {
        ++unknown_channel;
        continue;
      }
      INFO(path << " record " << m["record_id"]);
      bool same = it->second.channel == m["channel"].get<std::string>() &&
                  it->second.provider == m["provider"].get<std::string>() &&
                  it->second.event_id == m["event_id"].get<uint32_t>();
      if (!same) ++disagree;
      CHECK(same);
    }
  }
  WARN(fmt::format("{} files with carved records: {} carved natively, {} recovered by libevtx, {} by both ({} of "
                   "them with no channel in libevtx's reading), {} disagreeing",
                   files.size(), carved, by_libevtx, both, unknown_channel, disagree));
  CHECK(both > 1000);
}

// Known truth: the second half of a real chunk's records turned into free space (as a log that
// wrapped leaves them), its checksums made right again. Carving gives each back as it was read
// live, marked recovered; without carving they are not read.
TEST_CASE("Records of a chunk turned into free space are carved back exactly as they were", "[real][carving]") {
  std::ifstream in(treeline::test::shared_data() / "evtx-rs" / "security.evtx", std::ios::binary);
  std::string whole((std::istreambuf_iterator<char>(in)), {});
  REQUIRE(whole.size() > 4096 + 65536);
  std::string one = whole.substr(0, 4096 + 65536);  // the header and chunk 0
  const auto clean = read_native(one, false);
  REQUIRE(clean.size() > 40);
  // Offsets of chunk 0's records.
  const size_t chunk = 4096;
  std::vector<size_t> offsets;
  for (size_t pos = 512; pos < rd32(one, chunk + 48); pos += rd32(one, chunk + pos + 4)) offsets.push_back(pos);
  REQUIRE(offsets.size() == clean.size());
  const size_t keep = offsets.size() / 2;
  std::string wrapped = one;
  wr32(wrapped, chunk + 48, static_cast<uint32_t>(offsets[keep]));   // free space offset
  wr32(wrapped, chunk + 44, static_cast<uint32_t>(offsets[keep - 1]));  // last record offset
  auto* c = reinterpret_cast<const Bytef*>(wrapped.data() + chunk);
  wr32(wrapped, chunk + 52, static_cast<uint32_t>(crc32(0, c + 512, static_cast<uInt>(offsets[keep] - 512))));
  uint32_t header_crc = static_cast<uint32_t>(crc32(0, c, 120));
  header_crc = static_cast<uint32_t>(crc32(header_crc, c + 128, 384));
  wr32(wrapped, chunk + 124, header_crc);

  auto live_only = read_native(wrapped, false);
  CHECK(live_only.size() == keep);
  int64_t fragments = -1;
  auto carved = read_native(wrapped, true, &fragments);
  CHECK(fragments == 0);
  REQUIRE(carved.size() == clean.size());
  size_t recovered = 0;
  for (const auto& [key, seen] : clean) {
    INFO("record " << std::get<0>(key));
    REQUIRE(carved.count(key) == 1);
    const Seen& got = carved.at(key);
    CHECK(got.event_id == seen.event_id);
    CHECK(got.channel == seen.channel);
    CHECK(got.provider == seen.provider);
    CHECK(got.data == seen.data);
    if (got.recovered) ++recovered;
  }
  CHECK(recovered == clean.size() - keep);
}
