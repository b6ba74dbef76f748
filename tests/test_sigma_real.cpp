// SigmaHQ's Windows rules (../shared/data/sigma/rules/windows), every one read: loaded, or skipped
// with its file, line and reason.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "detect/sigma_rule.hpp"
#include "support.hpp"

using namespace treeline;
using namespace treeline::detect::sigma;

TEST_CASE("Every SigmaHQ Windows rule loads or is skipped with a reason", "[sigma][real]") {
  auto dir = test::shared_data() / "sigma" / "rules" / "windows";
  if (!std::filesystem::is_directory(dir)) {
    WARN("skipped: " << dir << " is absent");
    return;
  }
  size_t yml = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.path().extension() == ".yml") ++yml;
  SigmaSet set = load_sigma({dir.string()});
  CHECK(set.files == yml);
  // SigmaHQ writes one rule per file: each file is a loaded rule or a skipped one, never neither.
  CHECK(set.rules.size() + set.correlations.size() + set.skipped.size() == yml);
  std::map<std::string, size_t> reasons;
  for (const auto& s : set.skipped) {
    CHECK_FALSE(s.reason.empty());
    CHECK(s.line > 0);
    CHECK(s.file.rfind(dir.string(), 0) == 0);
    std::string key = s.reason.substr(0, s.reason.find(':'));
    ++reasons[key.size() > 60 ? key.substr(0, 60) : key];
  }
  std::string summary = fmt::format("{} files: {} rules loaded, {} skipped", yml, set.rules.size(), set.skipped.size());
  for (const auto& [reason, n] : reasons) summary += fmt::format("\n  {:>4}  {}", n, reason);
  WARN(summary);
  // Every rule of the set has a title, an id and a condition over searches it defines.
  for (const auto& r : set.rules) {
    CHECK_FALSE(r.id.empty());
    CHECK(r.searches.size() == r.search_names.size());
  }
  // What is not supported is named (placeholders without values), not a parse failure of the
  // specification's own constructs: at most the rules whose placeholders have no value here.
  CHECK(set.rules.size() >= yml - 40);
}
