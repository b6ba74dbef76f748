// The ECS export of all of ../shared/data reads back as the same events: every host, channel,
// provider, id, version, record id (a JSON record's stand-in id too), time to the 100 ns,
// Execution ProcessID and every data field.
#include <catch2/catch.hpp>

#include "support.hpp"

using namespace treeline;

namespace {


}  // namespace

TEST_CASE("All of ../shared/data round-trips through the ECS export", "[real][ecs][custody]") {
  const auto data = test::shared_data();
  test::TempDir dir;
  const std::string db = dir.file("case.db"), out = dir.file("case.ndjson"), back = dir.file("back.db");
  auto in = test::run_treeline({"ingest", "-q", db, data.string()});
  REQUIRE((in.exit_code == 0 || in.exit_code == 3));  // some samples are damaged on purpose
  auto e = test::run_treeline({"export", db, "-o", out});
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  auto r = test::run_treeline({"ingest", "-q", back, out});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  const int64_t events = test::scalar(db, "SELECT count(*) FROM events");
  CHECK(events > 200000);
  CHECK(test::scalar(back, "SELECT count(*) FROM events") == events);
  CHECK(test::events_digest(back) == test::events_digest(db));
}
