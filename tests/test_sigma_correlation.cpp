// Sigma correlations on hand-made hits: the four types, group-by with aliases, bounds, chained
// correlations, and what link_correlations refuses.
#include <catch2/catch.hpp>

#include "detect/sigma_correlate.hpp"
#include "detect/sigma_rule.hpp"

using namespace treeline::detect::sigma;

namespace {

constexpr int64_t kSecond = 10'000'000;

const char* const kBase =
    "title: failed logon\nname: failed\nlogsource:\n  product: windows\n  service: security\n"
    "detection:\n  sel:\n    EventID: 4625\n  condition: sel\n---\n"
    "title: successful logon\nname: success\nlogsource:\n  product: windows\n  service: security\n"
    "detection:\n  sel:\n    EventID: 4624\n  condition: sel\n---\n";

SigmaSet linked(const std::string& correlations) {
  SigmaSet set;
  parse_sigma_text(std::string(kBase) + correlations, "c.yml", set);
  link_correlations(set);
  return set;
}

size_t rule_index(const SigmaSet& set, const std::string& name) {
  for (size_t i = 0; i < set.rules.size(); ++i)
    if (set.rules[i].name == name) return i;
  FAIL("no rule " << name);
  return 0;
}

SigmaHit hit(size_t rule, int64_t seconds, std::vector<std::pair<std::string, std::string>> fields) {
  static int64_t pk = 0;
  SigmaHit h;
  h.rule = static_cast<uint32_t>(rule);
  h.event_pk = ++pk;
  h.time = seconds * kSecond;
  h.host = "dc01";
  h.captured = std::move(fields);
  return h;
}

std::vector<CorrelationMatch> run(const SigmaSet& set, const std::vector<SigmaHit>& hits) {
  CorrelateStats stats;
  return correlate(set, Hits(hits.begin(), hits.end()), stats);
}

}  // namespace

TEST_CASE("event_count counts per group within the timespan, and a window that meets it is one match", "[sigma][correlation]") {
  SigmaSet set = linked("title: brute force\ncorrelation:\n  type: event_count\n  rules: [failed]\n"
                        "  group-by: [TargetUserName]\n  timespan: 5m\n  condition:\n    gte: 3\n");
  REQUIRE(set.skipped.empty());
  REQUIRE(set.correlations.size() == 1);
  const size_t failed = rule_index(set, "failed");
  // The rule is a part of the correlation only: the specification's default (generate: false).
  CHECK_FALSE(set.rules[failed].standalone);
  CHECK(set.rules[rule_index(set, "success")].standalone);
  CHECK(set.rules[failed].captured == std::vector<std::string>{"TargetUserName"});
  std::vector<SigmaHit> hits;
  for (int i = 0; i < 4; ++i) hits.push_back(hit(failed, 10 + i * 60, {{"TargetUserName", "admin"}}));
  for (int i = 0; i < 2; ++i) hits.push_back(hit(failed, 10 + i * 60, {{"TargetUserName", "bob"}}));  // too few
  for (int i = 0; i < 3; ++i) hits.push_back(hit(failed, 1000 + i * 200, {{"TargetUserName", "carol"}}));  // too slow
  hits.push_back(hit(failed, 20, {}));  // no TargetUserName: cannot be grouped
  CorrelateStats stats;
  auto m = correlate(set, Hits(hits.begin(), hits.end()), stats);
  REQUIRE(m.size() == 1);
  CHECK(m[0].group == std::vector<std::pair<std::string, std::string>>{{"TargetUserName", "admin"}});
  CHECK(m[0].count == 4);
  CHECK(m[0].hits == std::vector<size_t>{0, 1, 2, 3});
  CHECK(m[0].first == 10 * kSecond);
  CHECK(m[0].last == 190 * kSecond);
  CHECK(stats.ungrouped == 1);
}

TEST_CASE("Count windows do not overlap: twice the count in one timespan is two matches", "[sigma][correlation]") {
  SigmaSet set = linked("title: burst\ncorrelation:\n  type: event_count\n  rules: [failed]\n"
                        "  timespan: 1h\n  condition:\n    gte: 2\n");
  REQUIRE(set.correlations.size() == 1);
  std::vector<SigmaHit> hits;
  for (int i = 0; i < 5; ++i) hits.push_back(hit(rule_index(set, "failed"), i, {}));
  auto m = run(set, hits);
  // One window holds all five (no group-by: one group); the next would start after it.
  REQUIRE(m.size() == 1);
  CHECK(m[0].count == 5);
}

TEST_CASE("Bounds combine: gt and lte make a range", "[sigma][correlation]") {
  SigmaSet set = linked("title: some\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [U]\n"
                        "  timespan: 1m\n  condition:\n    gt: 2\n    lte: 3\n");
  REQUIRE(set.correlations.size() == 1);
  const size_t failed = rule_index(set, "failed");
  std::vector<SigmaHit> hits;
  for (int i = 0; i < 3; ++i) hits.push_back(hit(failed, i, {{"U", "three"}}));
  for (int i = 0; i < 5; ++i) hits.push_back(hit(failed, i, {{"U", "five"}}));
  for (int i = 0; i < 2; ++i) hits.push_back(hit(failed, i, {{"U", "two"}}));
  auto m = run(set, hits);
  // "five": the longest window from each event holds 5, 4, 3: the third, from its third event, is in range.
  REQUIRE(m.size() == 2);
  CHECK(m[0].group.front().second == "five");
  CHECK(m[0].count == 3);
  CHECK(m[1].group.front().second == "three");
}

TEST_CASE("value_count counts distinct values, and a repeated or empty value adds nothing", "[sigma][correlation]") {
  SigmaSet set = linked("title: spraying\ncorrelation:\n  type: value_count\n  rules: [failed]\n"
                        "  group-by: [IpAddress]\n  timespan: 10m\n  condition:\n    field: TargetUserName\n    gte: 3\n");
  REQUIRE(set.correlations.size() == 1);
  const size_t failed = rule_index(set, "failed");
  CHECK(set.rules[failed].captured == std::vector<std::string>{"IpAddress", "TargetUserName"});
  std::vector<SigmaHit> hits;
  int t = 0;
  for (const char* user : {"a", "a", "b", "", "a"}) hits.push_back(hit(failed, ++t, {{"IpAddress", "10.0.0.9"}, {"TargetUserName", user}}));
  for (const char* user : {"a", "b", "c"}) hits.push_back(hit(failed, ++t, {{"IpAddress", "10.0.0.66"}, {"TargetUserName", user}}));
  auto m = run(set, hits);
  REQUIRE(m.size() == 1);
  CHECK(m[0].group.front().second == "10.0.0.66");
  CHECK(m[0].count == 3);
  CHECK(m[0].values == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("temporal needs every rule in the timespan, and temporal_ordered also their order", "[sigma][correlation]") {
  SigmaSet set = linked(
      "title: both\nname: both\ncorrelation:\n  type: temporal\n  rules: [failed, success]\n  group-by: [User]\n"
      "  timespan: 1m\n---\n"
      "title: in order\nname: in_order\ncorrelation:\n  type: temporal_ordered\n  rules: [failed, success]\n"
      "  group-by: [User]\n  timespan: 1m\n");
  REQUIRE(set.skipped.empty());
  REQUIRE(set.correlations.size() == 2);
  const size_t failed = rule_index(set, "failed"), success = rule_index(set, "success");
  std::vector<SigmaHit> hits = {
      hit(failed, 0, {{"User", "ann"}}), hit(success, 30, {{"User", "ann"}}),    // in order, in time
      hit(success, 0, {{"User", "ben"}}), hit(failed, 30, {{"User", "ben"}}),    // both, wrong order
      hit(failed, 0, {{"User", "cat"}}), hit(success, 120, {{"User", "cat"}}),   // too far apart
  };
  auto m = run(set, hits);
  std::vector<std::pair<size_t, std::string>> got;
  for (const auto& x : m) got.emplace_back(x.correlation, x.group.front().second);
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::pair<size_t, std::string>>{{0, "ann"}, {0, "ben"}, {1, "ann"}});
}

TEST_CASE("Aliases group events of different rules by different fields", "[sigma][correlation]") {
  SigmaSet set = linked("title: same account\ncorrelation:\n  type: temporal_ordered\n  rules: [failed, success]\n"
                        "  group-by: [account]\n  timespan: 1h\n  aliases:\n    account:\n      failed: TargetSid\n"
                        "      success: MemberSid\n");
  REQUIRE(set.correlations.size() == 1);
  const size_t failed = rule_index(set, "failed"), success = rule_index(set, "success");
  CHECK(set.rules[failed].captured == std::vector<std::string>{"TargetSid"});
  CHECK(set.rules[success].captured == std::vector<std::string>{"MemberSid"});
  auto m = run(set, {hit(failed, 0, {{"TargetSid", "S-1-5-21-9-1001"}}), hit(success, 5, {{"MemberSid", "S-1-5-21-9-1001"}}),
                     hit(failed, 0, {{"TargetSid", "S-1-5-21-9-1002"}}), hit(success, 5, {{"MemberSid", "S-1-5-21-9-1003"}})});
  REQUIRE(m.size() == 1);
  CHECK(m[0].group.front() == std::pair<std::string, std::string>{"account", "S-1-5-21-9-1001"});
  CHECK(m[0].hits.size() == 2);
}

TEST_CASE("A correlation of a correlation: many failed logons, then a success (the specification's example)", "[sigma][correlation]") {
  SigmaSet set = linked(
      "title: failed then success\ncorrelation:\n  type: temporal_ordered\n  rules: [many_failed, success]\n"
      "  group-by: [User]\n  timespan: 10m\nlevel: high\n---\n"
      "title: many failed\nname: many_failed\ncorrelation:\n  type: event_count\n  rules: [failed]\n"
      "  group-by: [User]\n  timespan: 10m\n  condition:\n    gte: 3\n");
  REQUIRE(set.skipped.empty());
  REQUIRE(set.correlations.size() == 2);
  CHECK(set.correlations[0].standalone);
  CHECK_FALSE(set.correlations[1].standalone);  // a part of the first
  const size_t failed = rule_index(set, "failed"), success = rule_index(set, "success");
  CHECK(set.rules[success].captured == std::vector<std::string>{"User"});
  std::vector<SigmaHit> hits;
  for (int i = 0; i < 3; ++i) hits.push_back(hit(failed, i, {{"User", "ann"}}));
  hits.push_back(hit(success, 60, {{"User", "ann"}}));
  for (int i = 0; i < 2; ++i) hits.push_back(hit(failed, i, {{"User", "ben"}}));  // too few to be "many"
  hits.push_back(hit(success, 60, {{"User", "ben"}}));
  auto m = run(set, hits);
  std::vector<const CorrelationMatch*> outer;
  for (const auto& x : m)
    if (x.correlation == 0) outer.push_back(&x);
  REQUIRE(outer.size() == 1);
  CHECK(outer[0]->group.front().second == "ann");
  // It lists every event it rests on: the three failures and the success.
  CHECK(outer[0]->hits == std::vector<size_t>{0, 1, 2, 3});
}

TEST_CASE("generate: true keeps the named rules' own hits", "[sigma][correlation]") {
  SigmaSet set = linked("title: c\ngenerate: true\ncorrelation:\n  type: event_count\n  rules: [failed]\n"
                        "  timespan: 1m\n  condition:\n    gte: 2\n");
  REQUIRE(set.correlations.size() == 1);
  CHECK(set.correlations[0].generate);
  CHECK(set.rules[rule_index(set, "failed")].standalone);
}

TEST_CASE("A correlation that names what is not loaded, or itself, is skipped with the reason", "[sigma][correlation]") {
  SigmaSet set = linked(
      "title: unknown\ncorrelation:\n  type: event_count\n  rules: [no_such_rule]\n  timespan: 1m\n"
      "  condition:\n    gte: 2\n---\n"
      "title: loop a\nname: loop_a\ncorrelation:\n  type: temporal\n  rules: [loop_b, failed]\n  timespan: 1m\n---\n"
      "title: loop b\nname: loop_b\ncorrelation:\n  type: temporal\n  rules: [loop_a, failed]\n  timespan: 1m\n---\n"
      "title: ordered count\ncorrelation:\n  type: temporal_ordered\n  rules: [failed, success]\n  timespan: 1m\n"
      "  condition:\n    gte: 1\n");
  CHECK(set.correlations.empty());
  REQUIRE(set.skipped.size() == 4);
  std::vector<std::string> reasons;
  for (const auto& s : set.skipped) {
    CHECK(s.file == "c.yml");
    CHECK(s.line > 0);
    reasons.push_back(s.reason);
  }
  CHECK_THAT(reasons[0], Catch::Contains("temporal_ordered with a condition"));
  CHECK_THAT(reasons[1], Catch::Contains("'no_such_rule'") && Catch::Contains("no loaded rule"));
  CHECK_THAT(reasons[2], Catch::Contains("names itself"));
  // The other half of the loop names a correlation that is gone now.
  CHECK_THAT(reasons[3], Catch::Contains("'loop_"));
  // The rules stay, as rules of their own.
  CHECK(set.rules[rule_index(set, "failed")].standalone);
}
