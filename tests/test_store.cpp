#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <sqlite3.h>

#include "core/time.hpp"
#include "store/case_db.hpp"
#include "store/case_writer.hpp"
#include "store/named_queries.hpp"
#include "store/query.hpp"
#include "support.hpp"

using namespace treeline;

namespace {

EventRecord logon_record(uint64_t record_id, int64_t time) {
  EventRecord r;
  r.record_id = record_id;
  r.time = time;
  r.event_id = 4624;
  r.channel = "Security";
  r.provider = "Microsoft-Windows-Security-Auditing";
  r.computer = "WS01.corp.local";
  r.spec = find_event_spec(r.channel, r.event_id);
  const LayoutSpec* l = r.spec->layout_for(20);
  r.names.assign(l->names.begin(), l->names.end());
  r.values.assign(20, "-");
  r.values[7] = "0x9f2a1";
  r.values[8] = "10";
  r.values[18] = "203.0.113.7";
  return r;
}

store::SourceInfo source(const std::string& sha_char) {
  store::SourceInfo s;
  s.path = "/evidence/Security.evtx";
  s.size = 1;
  s.sha256 = std::string(64, sha_char[0]);
  s.reader = "test";
  return s;
}

}  // namespace

TEST_CASE("Schema files apply in order and set user_version", "[store][schema]") {
  const auto& m = store::migrations();
  REQUIRE(m.size() >= 2);
  for (size_t i = 0; i < m.size(); ++i) CHECK(m[i].version == static_cast<int>(i) + 1);
  test::TempDir dir;
  auto db = store::open_case_for_write(dir.file("c.db"));
  REQUIRE(db.ok());
  CHECK(*db->query_int("PRAGMA user_version") == store::latest_schema_version());
  CHECK(*db->query_int("PRAGMA application_id") == store::kApplicationId);
  // Opening again applies nothing twice.
  auto again = store::open_case_for_write(dir.file("c.db"));
  REQUIRE(again.ok());
}

TEST_CASE("A newer or foreign database is refused with a clear message", "[store][schema]") {
  test::TempDir dir;
  {
    auto db = store::open_case_for_write(dir.file("newer.db"));
    REQUIRE(db.ok());
    REQUIRE(db->exec("PRAGMA user_version = 999").ok());
  }
  auto newer = store::open_case_for_write(dir.file("newer.db"));
  REQUIRE_FALSE(newer.ok());
  CHECK(newer.error().code == ErrorCode::kSchema);
  CHECK_THAT(newer.error().message, Catch::Contains("newer treeline") && Catch::Contains("999"));
  CHECK_FALSE(store::open_case_read_only(dir.file("newer.db")).ok());

  {
    auto db = store::Db::open(dir.file("foreign.db"), store::Db::Mode::kCreate);
    REQUIRE(db.ok());
    REQUIRE(db->exec("CREATE TABLE moz_places (id INTEGER)").ok());
  }
  auto foreign = store::open_case_for_write(dir.file("foreign.db"));
  REQUIRE_FALSE(foreign.ok());
  CHECK_THAT(foreign.error().message, Catch::Contains("not a treeline case"));
  auto foreign_ro = store::open_case_read_only(dir.file("foreign.db"));
  REQUIRE_FALSE(foreign_ro.ok());
  CHECK_THAT(foreign_ro.error().message, Catch::Contains("foreign.db"));
}

TEST_CASE("The same record from two sources is stored once", "[store]") {
  test::TempDir dir;
  auto db = store::open_case_for_write(dir.file("c.db"));
  REQUIRE(db.ok());
  store::CaseWriter w(*db);
  REQUIRE(w.begin_source(source("a")).ok());
  REQUIRE(w.add(logon_record(1, 133064471216762812)).ok());
  REQUIRE(w.add(logon_record(2, 133064471216762813)).ok());
  REQUIRE(w.flush().ok());
  CHECK(w.counts().added == 2);
  CHECK(w.counts().duplicate == 0);
  REQUIRE(w.commit_source({}, true).ok());
  REQUIRE(w.begin_source(source("b")).ok());
  REQUIRE(w.add(logon_record(2, 133064471216762813)).ok());
  REQUIRE(w.flush().ok());
  CHECK(w.counts().added == 0);
  CHECK(w.counts().duplicate == 1);
  // Same record id at another time: the log was cleared and numbering restarted.
  REQUIRE(w.add(logon_record(2, 133064471216762999)).ok());
  REQUIRE(w.commit_source({}, true).ok());
  CHECK(w.counts().added == 1);
  CHECK(w.counts().duplicate == 1);
  CHECK(*db->query_int("SELECT records_new FROM sources WHERE sha256 = printf('%.64c', 'b')") == 1);
  CHECK(*db->query_int("SELECT records_duplicate FROM sources WHERE sha256 = printf('%.64c', 'b')") == 1);
  CHECK(*db->query_int("SELECT count(*) FROM events") == 3);
  CHECK(*db->query_int("SELECT count(*) FROM sec_logon") == 3);
  CHECK(*db->query_int("SELECT count(DISTINCT host_id) FROM events") == 1);
  auto t = store::run_query(*db, "SELECT logon_id, logon_type, ip_address, host_short FROM logons LIMIT 1");
  REQUIRE(t.ok());
  CHECK(std::get<int64_t>(t->rows[0][0]) == 0x9f2a1);
  CHECK(std::get<int64_t>(t->rows[0][1]) == 10);
  CHECK(std::get<std::string>(t->rows[0][2]) == "203.0.113.7");
  CHECK(std::get<std::string>(t->rows[0][3]) == "ws01");
}

TEST_CASE("Every record's data is written, in batches and in the remainder", "[store]") {
  test::TempDir dir;
  auto db = store::open_case_for_write(dir.file("c.db"));
  REQUIRE(db.ok());
  store::CaseWriter w(*db);
  // A batch left unwritten by a rollback must not reach the next source.
  REQUIRE(w.begin_source(source("d")).ok());
  for (uint64_t i = 1; i <= 10; ++i) {
    EventRecord r = logon_record(i, 133064471216762812 + static_cast<int64_t>(i));
    r.data = "{\"rolled\":\"back\"}";
    REQUIRE(w.add(r).ok());
  }
  w.rollback_source();
  // 150 records: two full batches of 64 and a remainder of 22, with data on all but every tenth.
  REQUIRE(w.begin_source(source("e")).ok());
  for (uint64_t i = 1; i <= 150; ++i) {
    EventRecord r = logon_record(i, 133064471216762812 + static_cast<int64_t>(i));
    if (i % 10 != 0) r.data = fmt::format("{{\"n\":\"{}\"}}", i);
    REQUIRE(w.add(r).ok());
  }
  REQUIRE(w.commit_source({}, true).ok());
  CHECK(w.counts().added == 150);
  CHECK(*db->query_int("SELECT count(*) FROM event_data") == 135);
  CHECK(*db->query_int("SELECT count(*) FROM event_data WHERE data LIKE '%rolled%'") == 0);
  // Each data row belongs to its own event.
  CHECK(*db->query_int("SELECT count(*) FROM events_v WHERE data IS NOT NULL "
                       "AND CAST(json_extract(data, '$.n') AS INTEGER) = record_id") == 135);
  CHECK(*db->query_int("SELECT count(*) FROM events_v WHERE data IS NULL AND record_id % 10 = 0") == 15);
}

TEST_CASE("A batch holding records already in the case keeps each row with its own event", "[store]") {
  test::TempDir dir;
  auto db = store::open_case_for_write(dir.file("c.db"));
  REQUIRE(db.ok());
  store::CaseWriter w(*db);
  auto record = [](uint64_t i, bool recovered) {
    EventRecord r = logon_record(i, 133064471216762812 + static_cast<int64_t>(i));
    r.recovered = recovered;
    r.data = fmt::format("{{\"n\":\"{}\"}}", i);
    return r;
  };
  // Source a: records 1..100, every third one carved (recovered) rather than live.
  REQUIRE(w.begin_source(source("a")).ok());
  for (uint64_t i = 1; i <= 100; ++i) REQUIRE(w.add(record(i, i % 3 == 0)).ok());
  REQUIRE(w.commit_source({}, true).ok());
  // Source b: 61..260 live, and each of 150..159 twice, so that full batches mix new rows, rows of
  // source a and repeats within the batch.
  REQUIRE(w.begin_source(source("b")).ok());
  for (uint64_t i = 61; i <= 260; ++i) {
    REQUIRE(w.add(record(i, false)).ok());
    if (i >= 150 && i < 160) REQUIRE(w.add(record(i, false)).ok());
  }
  REQUIRE(w.commit_source({}, true).ok());
  CHECK(w.counts().added == 160);
  CHECK(w.counts().duplicate == 50);
  CHECK(*db->query_int("SELECT count(*) FROM events") == 260);
  CHECK(*db->query_int("SELECT count(*) FROM sec_logon") == 260);
  CHECK(*db->query_int("SELECT count(*) FROM event_data") == 260);
  // Every data row is its event's, and every typed row has an event.
  CHECK(*db->query_int("SELECT count(*) FROM events_v WHERE CAST(json_extract(data, '$.n') AS INTEGER) = record_id") ==
        260);
  CHECK(*db->query_int("SELECT count(*) FROM sec_logon l JOIN events e USING (event_pk)") == 260);
  // The carved records of a that b holds live moved to b; the others stayed a's.
  CHECK(*db->query_int("SELECT count(*) FROM events WHERE recovered = 1") == 20);
  CHECK(*db->query_int("SELECT count(*) FROM events e JOIN sources s USING (source_id) "
                       "WHERE s.sha256 = printf('%.64c', 'b')") == 160 + 13);
}

TEST_CASE("A row that breaks a constraint mid-batch fails the source, and nothing of it stays", "[store]") {
  test::TempDir dir;
  auto db = store::open_case_for_write(dir.file("c.db"));
  REQUIRE(db.ok());
  store::CaseWriter w(*db);
  REQUIRE(w.begin_source(source("f")).ok());
  Status failed = ok_status();
  for (uint64_t i = 1; i <= 100 && failed; ++i) {
    EventRecord r = logon_record(i, 133064471216762812 + static_cast<int64_t>(i));
    if (i == 40) r.event_id = 70000;  // outside event_id_in_range: the first batch of 64 fails at its 40th row
    failed = w.add(r);
  }
  if (failed) failed = w.commit_source({}, true);
  REQUIRE_FALSE(failed.ok());
  CHECK_THAT(failed.error().message, Catch::Contains("event_id_in_range"));
  w.rollback_source();
  CHECK(*db->query_int("SELECT count(*) FROM events") == 0);
  CHECK(*db->query_int("SELECT count(*) FROM sec_logon") == 0);
  CHECK(*db->query_int("SELECT count(*) FROM sources") == 0);
}

TEST_CASE("A rolled-back source leaves no rows", "[store]") {
  test::TempDir dir;
  auto db = store::open_case_for_write(dir.file("c.db"));
  REQUIRE(db.ok());
  store::CaseWriter w(*db);
  REQUIRE(w.begin_source(source("c")).ok());
  REQUIRE(w.add(logon_record(1, 133064471216762812)).ok());
  w.rollback_source();
  CHECK(*db->query_int("SELECT count(*) FROM events") == 0);
  CHECK(*db->query_int("SELECT count(*) FROM sources") == 0);
  CHECK(*db->query_int("SELECT count(*) FROM hosts") == 0);
  // The writer's caches forgot the rolled-back host: the next insert recreates it.
  REQUIRE(w.begin_source(source("c")).ok());
  REQUIRE(w.add(logon_record(1, 133064471216762812)).ok());
  REQUIRE(w.commit_source({}, true).ok());
  CHECK(w.counts().added == 1);
  CHECK(*db->query_int("SELECT count(*) FROM events e JOIN hosts h USING (host_id)") == 1);
}

TEST_CASE("Read-only cases refuse writes and queries are one statement", "[store]") {
  test::TempDir dir;
  { REQUIRE(store::open_case_for_write(dir.file("c.db")).ok()); }
  auto db = store::open_case_read_only(dir.file("c.db"));
  REQUIRE(db.ok());
  auto del = store::run_query(*db, "DELETE FROM sources");
  REQUIRE_FALSE(del.ok());
  CHECK_THAT(del.error().message, Catch::Contains("read-only") || Catch::Contains("readonly"));
  auto two = store::run_query(*db, "SELECT 1; SELECT 2");
  REQUIRE_FALSE(two.ok());
  CHECK(store::run_query(*db, "SELECT 1; -- trailing comment\n").ok());
  CHECK_FALSE(store::open_case_read_only(dir.file("missing.db")).ok());
}

TEST_CASE("Every named query runs on an empty case", "[store][queries]") {
  test::TempDir dir;
  { REQUIRE(store::open_case_for_write(dir.file("c.db")).ok()); }
  auto db = store::open_case_read_only(dir.file("c.db"));
  REQUIRE(db.ok());
  REQUIRE(store::named_queries().size() >= 5);
  for (const auto& q : store::named_queries()) {
    INFO(q.name);
    CHECK_FALSE(q.summary.empty());
    auto t = store::run_query(*db, q.sql);
    CHECK(t.ok());
    if (!t.ok()) WARN(t.error().message);
  }
}

TEST_CASE("Indexes dropped for a bulk load come back as the schema defines them", "[store][schema]") {
  test::TempDir dir;
  auto db = store::open_case_for_write(dir.file("case.db"));
  REQUIRE(db.ok());
  // Each index with its table and columns, from SQLite itself.
  auto indexes = [&] {
    auto t = store::run_query(*db,
                              "SELECT m.name, m.tbl_name, group_concat(i.name, ',') FROM sqlite_master m, "
                              "pragma_index_info(m.name) i WHERE m.type = 'index' GROUP BY m.name ORDER BY m.name");
    REQUIRE(t.ok());
    std::vector<std::string> out;
    for (const auto& r : t->rows)
      out.push_back(std::get<std::string>(r[0]) + " " + std::get<std::string>(r[1]) + " " + std::get<std::string>(r[2]));
    return out;
  };
  auto before = indexes();
  REQUIRE(store::drop_bulk_indexes(*db).ok());
  auto dropped = indexes();
  CHECK(dropped.size() + 7 == before.size());
  REQUIRE(store::create_bulk_indexes(*db).ok());
  CHECK(indexes() == before);
}

TEST_CASE("A transaction left without commit rolls back and restores foreign keys", "[store][transaction]") {
  test::TempDir dir;
  auto db = store::open_case_for_write(dir.file("case.db"));
  REQUIRE(db.ok());
  REQUIRE(db->exec("PRAGMA foreign_keys = ON").ok());
  {
    auto tx = store::Transaction::begin(*db, {.foreign_keys_off = true}, "a test");
    REQUIRE(tx.ok());
    CHECK(*db->query_int("PRAGMA foreign_keys") == 0);
    REQUIRE(db->exec("INSERT INTO hosts (computer, short_name) VALUES ('x', 'x')").ok());
    // A second writer cannot start while this one holds the lock, and says why.
    auto other = store::open_case_for_write(dir.file("case.db"));
    REQUIRE(other.ok());
    sqlite3_busy_timeout(other->get(), 10);
    auto blocked = store::Transaction::begin(*other, "a second writer");
    REQUIRE_FALSE(blocked.ok());
    CHECK(blocked.error().code == ErrorCode::kLocked);
  }  // no commit
  CHECK(*db->query_int("SELECT count(*) FROM hosts") == 0);
  CHECK(*db->query_int("PRAGMA foreign_keys") == 1);
  CHECK(sqlite3_get_autocommit(db->get()) == 1);
  {
    auto tx = store::Transaction::begin(*db, "a test");
    REQUIRE(tx.ok());
    REQUIRE(db->exec("INSERT INTO hosts (computer, short_name) VALUES ('y', 'y')").ok());
    REQUIRE(tx->commit().ok());
    CHECK_FALSE(tx->active());
  }
  CHECK(*db->query_int("SELECT count(*) FROM hosts") == 1);
}

TEST_CASE("A failed bind makes the statement fail instead of running without the value", "[store][bind]") {
  test::TempDir dir;
  auto db = store::open_case_for_write(dir.file("case.db"));
  REQUIRE(db.ok());
  auto st = db->prepare("INSERT INTO hosts (computer, short_name) VALUES (?1, ?2)");
  REQUIRE(st.ok());
  st->bind(1, std::string_view("h"));
  st->bind(2, std::string_view("h"));
  st->bind(3, std::string_view("no such parameter"));
  CHECK(st->step() == SQLITE_RANGE);
  CHECK(*db->query_int("SELECT count(*) FROM hosts") == 0);
  st->reset();
  st->bind(1, std::string_view("h"));
  st->bind(2, std::string_view("h"));
  CHECK(st->step() == SQLITE_DONE);
}
