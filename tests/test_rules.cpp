#include <catch2/catch.hpp>

#include "detect/hunt.hpp"
#include "detect/rule.hpp"

using namespace treeline;

TEST_CASE("The built-in rules load, with unique ids and ATT&CK ids", "[detect][rules]") {
  auto rules = detect::load_rules("");
  REQUIRE(rules.ok());
  CHECK(rules->size() >= 14);
  bool comsvcs = false;
  for (const auto& r : *rules) {
    CHECK_FALSE(r.attack.empty());
    comsvcs |= r.id == "comsvcs_lsass_dump_attempt" && r.action == "comsvcs_lsass_dump_attempt";
  }
  CHECK(comsvcs);
}

TEST_CASE("A bad rule names its file, line and problem", "[detect][rules]") {
  auto unknown_field = detect::parse_rule("id: x\ntitle: t\nseverity: high\naction: a\nchain:\n  - imagee|endswith: x.exe\n",
                                          "rules/bad.yml");
  REQUIRE_FALSE(unknown_field.ok());
  CHECK_THAT(unknown_field.error().message, Catch::StartsWith("rules/bad.yml:6:") && Catch::Contains("unknown field 'imagee'"));

  auto bad_yaml = detect::parse_rule("id: x\ntitle: [unclosed\n", "r.yml");
  REQUIRE_FALSE(bad_yaml.ok());
  CHECK_THAT(bad_yaml.error().message, Catch::StartsWith("r.yml:"));

  auto bad_severity = detect::parse_rule("id: x\ntitle: t\nseverity: dire\naction: a\nchain:\n  - image: a\n", "s.yml");
  REQUIRE_FALSE(bad_severity.ok());
  CHECK_THAT(bad_severity.error().message, Catch::Contains("s.yml:3:") && Catch::Contains("severity"));

  auto bad_re = detect::parse_rule("id: x\ntitle: t\nseverity: low\naction: a\nchain:\n  - image|re: '('\n", "re.yml");
  REQUIRE_FALSE(bad_re.ok());
  CHECK_THAT(bad_re.error().message, Catch::Contains("re.yml:6:") && Catch::Contains("regular expression"));

  auto no_chain = detect::parse_rule("id: x\ntitle: t\nseverity: low\naction: a\n", "c.yml");
  REQUIRE_FALSE(no_chain.ok());
  CHECK_THAT(no_chain.error().message, Catch::Contains("chain"));
}

TEST_CASE("Conditions: Sigma-style modifiers, case-insensitive unless cased", "[detect][rules]") {
  auto r = detect::parse_rule(
      "id: x\ntitle: t\nseverity: low\naction: a\nchain:\n"
      "  - image|endswith: ['\\rundll32.exe', '\\regsvr32.exe']\n"
      "    command_line|contains|all: [comsvcs, minidump]\n"
      "    user|cased: SYSTEM\n",
      "m.yml");
  REQUIRE(r.ok());
  const auto& c = r->chain[0].all_of;
  CHECK(c[0].matches("C:\\Windows\\System32\\RUNDLL32.EXE"));
  CHECK_FALSE(c[0].matches("C:\\Windows\\System32\\cmd.exe"));
  CHECK(c[1].matches("rundll32 C:\\windows\\system32\\COMSVCS.dll, MiniDump 624 x full"));
  CHECK_FALSE(c[1].matches("rundll32 comsvcs.dll"));  // |all needs both
  CHECK(c[2].matches("SYSTEM"));
  CHECK_FALSE(c[2].matches("system"));
  CHECK_FALSE(c[0].matches(""));  // unknown never matches
}

TEST_CASE("Encoded PowerShell decodes from UTF-16LE base64", "[detect]") {
  CHECK(detect::decode_powershell("powershell.exe -enc VwByAGkAdABlAC0ASABvAHMAdAAgAGgAaQA=") == "Write-Host hi");
  CHECK(detect::decode_powershell("powershell -NoP -EncodedCommand VwByAGkAdABlAC0ASABvAHMAdAAgAGgAaQA=") == "Write-Host hi");
  CHECK(detect::decode_powershell("pwsh -e VwByAGkAdABlAC0ASABvAHMAdAAgAGgAaQA") == "Write-Host hi");
  CHECK_FALSE(detect::decode_powershell("powershell.exe -File x.ps1").has_value());
}
