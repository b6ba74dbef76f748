// Ingest of the real logs in ../shared/data, checked against COUNTS.tsv (counts made by
// independent parsers: libevtx's evtxexport, or python-evtx).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>

#include "ingest/ingester.hpp"
#include "store/case_db.hpp"
#include "store/query.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace treeline;

namespace {

constexpr const char* kSysmonChannel = "Microsoft-Windows-Sysmon/Operational";

struct Ingested {
  ingest::IngestReport report;
  std::map<std::string, int64_t> normal_by_key;  // "Security:4688" as COUNTS.tsv names it
  int64_t normal_total = 0;
  int64_t kept_total = 0;
};

Ingested ingest_into(store::Db& db, const std::vector<std::string>& paths) {
  ingest::Ingester ing(db);
  auto rep = ing.run(paths, nullptr);
  REQUIRE(rep.ok());
  Ingested out{std::move(rep.value()), {}, 0, 0};
  auto t = store::run_query(db,
                            "SELECT c.name, e.event_id, sum(e.recovered = 0), count(*) FROM events e "
                            "JOIN channels c USING (channel_id) GROUP BY c.name, e.event_id");
  REQUIRE(t.ok());
  for (const auto& row : t->rows) {
    std::string channel = std::get<std::string>(row[0]);
    if (channel == kSysmonChannel) channel = "Sysmon";
    out.normal_by_key[fmt::format("{}:{}", channel, std::get<int64_t>(row[1]))] += std::get<int64_t>(row[2]);
    out.normal_total += std::get<int64_t>(row[2]);
    out.kept_total += std::get<int64_t>(row[3]);
  }
  return out;
}

// Each file in its own case, so identical records in two sample files do not hide each other.
void check_file_against_counts(const fs::path& file, const test::CountsRow& expect) {
  test::TempDir dir;
  auto db = store::open_case_for_write(dir.file("case.db"));
  REQUIRE(db.ok());
  Ingested got = ingest_into(*db, {file.string()});
  INFO(file.string() << " (COUNTS method " << expect.method << ")");
  for (const auto& [key, n] : expect.by_key) {
    INFO(key);
    int64_t have = got.normal_by_key.count(key) ? got.normal_by_key.at(key) : 0;
    if (expect.method == "partial") CHECK(have >= n);
    else CHECK(have == n);
  }
  if (expect.method == "partial") CHECK(got.kept_total >= expect.total);
  else CHECK(got.normal_total == expect.total);
}

void check_tree(const std::string& prefix) {
  auto counts = test::load_counts();
  size_t files = 0;
  for (const auto& [rel, row] : counts) {
    if (rel.rfind(prefix, 0) != 0) continue;
    check_file_against_counts(test::shared_data() / rel, row);
    ++files;
  }
  CHECK(files > 0);
}

}  // namespace

TEST_CASE("evtx-rs/security.evtx: per-event-id counts equal COUNTS.tsv", "[real][counts]") {
  auto counts = test::load_counts();
  const auto& row = counts.at("evtx-rs/security.evtx");
  CHECK(row.by_key.at("Security:4624") == 583);  // the oracle is the file we think it is
  check_file_against_counts(test::shared_data() / "evtx-rs/security.evtx", row);
}

TEST_CASE("capattack procdump folder: every log's counts equal COUNTS.tsv", "[real][counts]") {
  check_tree("capattack/procdump_t1003.001_capattack/");
}

TEST_CASE("capattack folder ingested as one folder: Security and Sysmon counts", "[real][counts]") {
  test::TempDir dir;
  auto db = store::open_case_for_write(dir.file("case.db"));
  REQUIRE(db.ok());
  auto folder = test::shared_data() / "capattack/hh_decompile_t1218.001_capattack/logs";
  Ingested got = ingest_into(*db, {folder.string()});
  auto counts = test::load_counts();
  const auto& sec = counts.at("capattack/hh_decompile_t1218.001_capattack/logs/Security.evtx");
  const auto& sys = counts.at("capattack/hh_decompile_t1218.001_capattack/logs/Microsoft-Windows-Sysmon%4Operational.evtx");
  CHECK(got.normal_by_key["Security:4688"] == sec.by_key.at("Security:4688"));
  CHECK(got.normal_by_key["Security:4689"] == sec.by_key.at("Security:4689"));
  CHECK(got.normal_by_key["Sysmon:1"] == sys.by_key.at("Sysmon:1"));
  CHECK(got.normal_by_key["Sysmon:5"] == sys.by_key.at("Sysmon:5"));
  CHECK(got.report.files.size() > 100);
  CHECK(got.report.files_failed() == 0);
  // Typed rows exist for every typed event.
  CHECK(*db->query_int("SELECT count(*) FROM sec_process_create") == sec.by_key.at("Security:4688"));
  CHECK(*db->query_int("SELECT count(*) FROM sysmon_process") == sys.by_key.at("Sysmon:1") + sys.by_key.at("Sysmon:5"));
  // The writer stores ids without per-row foreign-key checks: every reference must still hold.
  auto fk = store::run_query(*db, "PRAGMA foreign_key_check");
  REQUIRE(fk.ok());
  CHECK(fk->rows.empty());
}

TEST_CASE("evtx-to-mitre: every file's counts equal COUNTS.tsv", "[real][counts]") {
  check_tree("evtx-to-mitre/");
}

TEST_CASE("A 4688 v2 record lands with the values Windows wrote", "[real][fields]") {
  test::TempDir dir;
  auto db = store::open_case_for_write(dir.file("case.db"));
  REQUIRE(db.ok());
  ingest_into(*db, {(test::shared_data() / "capattack/procdump_t1003.001_capattack/logs/Security.evtx").string()});
  auto t = store::run_query(*db,
                            "SELECT time_utc, host, pid, image, parent_pid, parent_image, logon_id, command_line, "
                            "version, integrity_level, elevation, source_path FROM process_creations WHERE record_id = 2786315");
  REQUIRE(t.ok());
  REQUIRE(t->rows.size() == 1);
  const auto& r = t->rows[0];
  CHECK(std::get<std::string>(r[0]) == "2022-08-31T19:18:41.6762812Z");
  CHECK(std::get<std::string>(r[1]) == "win-host-mhaag-attack-range-117");
  CHECK(std::get<int64_t>(r[2]) == 0xcd0);
  CHECK(std::get<std::string>(r[3]) == "C:\\Windows\\System32\\wevtutil.exe");
  CHECK(std::get<int64_t>(r[4]) == 0xc8c);
  CHECK(std::get<std::string>(r[5]) == "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe");
  CHECK(std::get<int64_t>(r[6]) == 0xe7a0c);
  CHECK(std::get<std::string>(r[7]) == "\"C:\\Windows\\system32\\wevtutil.exe\" cl \"Microsoft-Windows-ntshrui-perf\" ");
  CHECK(std::get<int64_t>(r[8]) == 2);
  CHECK(std::get<std::string>(r[9]) == "high");
  CHECK(std::get<std::string>(r[10]) == "default");
  CHECK_THAT(std::get<std::string>(r[11]), Catch::EndsWith("procdump_t1003.001_capattack/logs/Security.evtx"));
  // Provenance: the source row carries size and SHA-256 (hashed while the file was read: its
  // size was new to the case), the same digest sha256sum gives.
  auto path = test::shared_data() / "capattack/procdump_t1003.001_capattack/logs/Security.evtx";
  auto sum = test::run_shell("sha256sum " + test::shell_quote(path.string()));
  REQUIRE(sum.exit_code == 0);
  auto stored = store::run_query(*db, "SELECT sha256, size FROM sources");
  REQUIRE(stored.ok());
  REQUIRE(stored->rows.size() == 1);
  CHECK(std::get<std::string>(stored->rows[0][0]) == sum.out.substr(0, 64));
  CHECK(std::get<int64_t>(stored->rows[0][1]) == static_cast<int64_t>(fs::file_size(path)));
}

TEST_CASE("Positional names equal libevtx's XML names for every known record", "[real][layout]") {
  int64_t checked = 0, mismatches = 0, files = 0;
  std::vector<std::string> examples;
  for (const auto& entry : fs::recursive_directory_iterator(test::shared_data())) {
    if (!entry.is_regular_file() || entry.path().extension() != ".evtx") continue;
    ++files;
    auto on_record = [](EventRecord&) { return ok_status(); };
    auto on_issue = [&](const ingest::ReadIssue& i) {
      if (i.reason.rfind("cross-check", 0) == 0 && examples.size() < 5)
        examples.push_back(entry.path().string() + ": " + i.location + ": " + i.reason);
      return ok_status();
    };
    auto stats = ingest::read_evtx_libevtx(entry.path().string(), on_record, on_issue, {true});
    if (!stats) continue;  // files libevtx cannot open are covered by the damaged-file tests
    checked += stats->cross_checked;
    mismatches += stats->cross_check_mismatches;
  }
  for (const auto& e : examples) WARN(e);
  WARN(fmt::format("cross-checked {} records against their XML in {} files: {} mismatches", checked, files, mismatches));
  CHECK(files > 400);
  CHECK(checked > 5000);
  CHECK(mismatches == 0);
}

TEST_CASE("Re-ingest adds nothing and neither does a copy or an overlapping export", "[real][idempotent]") {
  test::TempDir dir;
  auto db = store::open_case_for_write(dir.file("case.db"));
  REQUIRE(db.ok());
  auto folder = (test::shared_data() / "capattack/procdump_t1003.001_capattack/logs").string();
  Ingested first = ingest_into(*db, {folder});
  int64_t events = *db->query_int("SELECT count(*) FROM events");
  int64_t typed = *db->query_int("SELECT count(*) FROM sec_process_create");
  REQUIRE(events > 0);
  Ingested second = ingest_into(*db, {folder});
  CHECK(second.report.records_added() == 0);
  for (const auto& f : second.report.files) CHECK(f.status == ingest::FileReport::Status::kAlreadyInCase);
  CHECK(*db->query_int("SELECT count(*) FROM events") == events);
  CHECK(*db->query_int("SELECT count(*) FROM sec_process_create") == typed);

  // The same bytes under another name.
  fs::copy_file(folder + "/Security.evtx", dir.file("copy.evtx"));
  Ingested copy = ingest_into(*db, {dir.file("copy.evtx")});
  CHECK(copy.report.files.at(0).status == ingest::FileReport::Status::kAlreadyInCase);
  CHECK(*db->query_int("SELECT count(*) FROM events") == events);

  // security_bad_string_cache.evtx holds the same records as security.evtx in other bytes.
  ingest_into(*db, {(test::shared_data() / "evtx-rs/security.evtx").string()});
  int64_t with_security = *db->query_int("SELECT count(*) FROM events");
  Ingested overlap = ingest_into(*db, {(test::shared_data() / "evtx-rs/security_bad_string_cache.evtx").string()});
  CHECK(overlap.report.files.at(0).status == ingest::FileReport::Status::kIngested);
  // Its live records, and the old ones carved from its free space, which security.evtx holds live.
  CHECK(overlap.report.files.at(0).totals.read - overlap.report.files.at(0).totals.recovered == 2261);
  CHECK(overlap.report.records_added() == 0);
  CHECK(*db->query_int("SELECT count(*) FROM events") == with_security);
}

TEST_CASE("Damaged samples: no crash, every readable record kept", "[real][damaged]") {
  auto counts = test::load_counts();
  // evtxexport's default mode drops the records of corrupt chunks; libevtx's recovery brings
  // them back in these two files.
  const std::map<std::string, bool> damaged = {
      {"sample_with_a_bad_chunk_magic.evtx", true}, {"sample-with-zero-data-size-event.evtx", true},
      {"Application_no_crc32.evtx", false},          {"security_bad_string_cache.evtx", false},
      {"sample-with-irregular-bool-values.evtx", false}, {"issue_201.evtx", false}};
  for (const auto& [name, more] : damaged) {
    INFO(name);
    test::TempDir dir;
    auto db = store::open_case_for_write(dir.file("case.db"));
    REQUIRE(db.ok());
    Ingested got = ingest_into(*db, {(test::shared_data() / "evtx-rs" / name).string()});
    REQUIRE(got.report.files.size() == 1);
    CHECK(got.report.files[0].status == ingest::FileReport::Status::kIngested);
    int64_t evtxexport_kept = counts.at("evtx-rs/" + name).total;
    if (more) CHECK(got.kept_total > evtxexport_kept);
    else CHECK(got.kept_total >= evtxexport_kept);
    // Whatever was not kept is accounted for, record by record.
    CHECK(*db->query_int("SELECT count(*) FROM ingest_issues WHERE severity = 'skipped'") ==
          got.report.files[0].totals.skipped);
  }
}
