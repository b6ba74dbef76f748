// The Sigma rule reader and matcher on hand-written rules whose truth is plain.
#include <catch2/catch.hpp>

#include <map>

#include "detect/sigma_rule.hpp"

using namespace treeline::detect::sigma;

namespace {

class Event : public FieldSource {
 public:
  Event(std::initializer_list<std::pair<const std::string, std::string>> f) : fields_(f) {}
  std::optional<std::string_view> field(std::string_view name) const override {
    auto it = fields_.find(std::string(name));
    if (it == fields_.end()) return std::nullopt;
    return std::string_view(it->second);
  }
  bool any_value(const std::function<bool(std::string_view)>& fn) const override {
    for (const auto& [k, v] : fields_)
      if (fn(v)) return true;
    return false;
  }

 private:
  std::map<std::string, std::string> fields_;
};

SigmaRule one_rule(const std::string& detection) {
  SigmaSet set;
  parse_sigma_text("title: t\nid: 11111111-2222-3333-4444-555555555555\nlogsource:\n  product: windows\n"
                   "  category: process_creation\ndetection:\n" + detection,
                   "t.yml", set);
  INFO((set.skipped.empty() ? std::string() : set.skipped.front().reason));
  REQUIRE(set.skipped.empty());
  REQUIRE(set.rules.size() == 1);
  return set.rules.front();
}

std::string skip_reason(const std::string& detection) {
  SigmaSet set;
  parse_sigma_text("title: t\nlogsource:\n  product: windows\ndetection:\n" + detection, "bad.yml", set);
  REQUIRE(set.rules.empty());
  REQUIRE(set.skipped.size() == 1);
  CHECK(set.skipped.front().file == "bad.yml");
  CHECK(set.skipped.front().line > 0);
  return set.skipped.front().reason;
}

}  // namespace

TEST_CASE("Sigma values: wildcards, escapes, case and the anchoring modifiers", "[sigma]") {
  auto r = one_rule("  sel:\n    Image|endswith: '\\cmd.exe'\n    CommandLine|contains|all: ['/c', 'whoami']\n"
                    "  condition: sel\n");
  CHECK(r.matches(Event{{"Image", "C:\\Windows\\System32\\CMD.EXE"}, {"CommandLine", "cmd /C WhoAmI /all"}}));
  CHECK_FALSE(r.matches(Event{{"Image", "C:\\Windows\\System32\\cmd.exe"}, {"CommandLine", "cmd /c dir"}}));
  CHECK_FALSE(r.matches(Event{{"CommandLine", "cmd /c whoami"}}));  // Image absent

  auto w = one_rule("  sel:\n    CommandLine: 'a?c*\\*'\n  condition: sel\n");
  CHECK(w.matches(Event{{"CommandLine", "abc-anything*"}}));
  CHECK(w.matches(Event{{"CommandLine", "AXC*"}}));
  CHECK_FALSE(w.matches(Event{{"CommandLine", "abc-no-star"}}));

  // A backslash before an ordinary character is itself; two before a wildcard are one backslash.
  auto unc = one_rule("  sel:\n    CommandLine|startswith: '\\\\127.0.0.1\\ADMIN$'\n  condition: sel\n");
  CHECK(unc.matches(Event{{"CommandLine", "\\127.0.0.1\\ADMIN$\\__1234"}}));

  auto cased = one_rule("  sel:\n    Image|cased: 'Evil.exe'\n  condition: sel\n");
  CHECK(cased.matches(Event{{"Image", "Evil.exe"}}));
  CHECK_FALSE(cased.matches(Event{{"Image", "evil.exe"}}));
}

TEST_CASE("Sigma values: null, exists, numbers, cidr, fieldref, re", "[sigma]") {
  auto null = one_rule("  sel:\n    ParentImage: null\n  condition: sel\n");
  CHECK(null.matches(Event{{"Image", "x"}}));
  CHECK(null.matches(Event{{"ParentImage", ""}}));
  CHECK_FALSE(null.matches(Event{{"ParentImage", "y"}}));

  auto exists = one_rule("  sel:\n    Hashes|exists: true\n  f:\n    User|exists: false\n  condition: sel and f\n");
  CHECK(exists.matches(Event{{"Hashes", ""}}));
  CHECK_FALSE(exists.matches(Event{{"Hashes", "a"}, {"User", "u"}}));

  auto num = one_rule("  sel:\n    DestinationPort|gte: 1024\n    DestinationPort|lt: 0x2000\n  condition: sel\n");
  CHECK(num.matches(Event{{"DestinationPort", "4444"}}));
  CHECK_FALSE(num.matches(Event{{"DestinationPort", "443"}}));
  CHECK_FALSE(num.matches(Event{{"DestinationPort", "9000"}}));
  CHECK_FALSE(num.matches(Event{{"DestinationPort", "http"}}));

  auto cidr = one_rule("  sel:\n    DestinationIp|cidr: ['10.0.0.0/8', 'fe80::/10']\n  condition: sel\n");
  CHECK(cidr.matches(Event{{"DestinationIp", "10.20.30.40"}}));
  CHECK(cidr.matches(Event{{"DestinationIp", "fe80::1"}}));
  CHECK_FALSE(cidr.matches(Event{{"DestinationIp", "11.0.0.1"}}));
  CHECK_FALSE(cidr.matches(Event{{"DestinationIp", "-"}}));

  auto ref = one_rule("  sel:\n    SourceImage|fieldref: TargetImage\n  condition: sel\n");
  CHECK(ref.matches(Event{{"SourceImage", "C:\\A.exe"}, {"TargetImage", "c:\\a.exe"}}));
  CHECK_FALSE(ref.matches(Event{{"SourceImage", "C:\\A.exe"}, {"TargetImage", "C:\\B.exe"}}));

  auto re = one_rule("  sel:\n    CommandLine|re: '-e(nc)?\\s+[A-Za-z0-9+/=]{20,}'\n  condition: sel\n");
  CHECK(re.matches(Event{{"CommandLine", "powershell -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA"}}));
  CHECK_FALSE(re.matches(Event{{"CommandLine", "powershell -ENC SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA"}}));
  auto re_i = one_rule("  sel:\n    CommandLine|re|i: '-enc\\s'\n  condition: sel\n");
  CHECK(re_i.matches(Event{{"CommandLine", "powershell -ENC x"}}));
}

TEST_CASE("Sigma values: windash, base64, base64offset and utf16", "[sigma]") {
  auto dash = one_rule("  sel:\n    CommandLine|contains|windash: ' -urlcache '\n  condition: sel\n");
  CHECK(dash.matches(Event{{"CommandLine", "certutil -urlcache -f http://x"}}));
  CHECK(dash.matches(Event{{"CommandLine", "certutil /urlcache /f http://x"}}));
  CHECK(dash.matches(Event{{"CommandLine", "certutil \u2013urlcache x"}}));
  CHECK_FALSE(dash.matches(Event{{"CommandLine", "certutil urlcache x"}}));

  // "IEX" base64-encoded is "SUVY".
  auto b64 = one_rule("  sel:\n    ScriptBlockText|base64|contains: 'IEX'\n  condition: sel\n");
  CHECK(b64.matches(Event{{"ScriptBlockText", "abc SUVY def"}}));

  // base64offset finds a value wherever it sits in an encoded text: "xxIEX (New" at offsets 0..2.
  auto off = one_rule("  sel:\n    CommandLine|base64offset|contains: 'IEX (New'\n  condition: sel\n");
  for (const char* enc : {"SUVYIChOZXc=", "eElFWCAoTmV3", "eHhJRVggKE5ldw=="}) {
    INFO(enc);
    CHECK(off.matches(Event{{"CommandLine", std::string("powershell -e ") + enc}}));
  }
  CHECK_FALSE(off.matches(Event{{"CommandLine", "powershell -e SGVsbG8gd29ybGQ="}}));

  // "cmd" as UTF-16LE, base64: "YwBtAGQA".
  auto wide = one_rule("  sel:\n    CommandLine|wide|base64offset|contains: 'cmd'\n  condition: sel\n");
  CHECK(wide.matches(Event{{"CommandLine", "powershell -enc YwBtAGQA"}}));
}

TEST_CASE("Sigma conditions: precedence, parentheses, quantifiers, them, keywords", "[sigma]") {
  auto r = one_rule("  a:\n    X: '1'\n  b:\n    Y: '1'\n  c:\n    Z: '1'\n  condition: a or b and not c\n");
  CHECK(r.matches(Event{{"X", "1"}, {"Z", "1"}}));  // a or (b and not c)
  CHECK(r.matches(Event{{"Y", "1"}}));
  CHECK_FALSE(r.matches(Event{{"Y", "1"}, {"Z", "1"}}));

  auto p = one_rule("  a:\n    X: '1'\n  b:\n    Y: '1'\n  c:\n    Z: '1'\n  condition: (a or b) and not c\n");
  CHECK_FALSE(p.matches(Event{{"X", "1"}, {"Z", "1"}}));

  auto q = one_rule("  sel_a:\n    X: '1'\n  sel_b:\n    Y: '1'\n  _hidden:\n    Z: '1'\n"
                    "  condition: all of sel_* and not 1 of them\n");
  CHECK_FALSE(q.matches(Event{{"X", "1"}, {"Y", "1"}}));  // `them` holds sel_a: never true with all of sel_*
  auto t = one_rule("  sel_a:\n    X: '1'\n  _hidden:\n    Z: '1'\n  condition: 1 of them\n");
  CHECK_FALSE(t.matches(Event{{"Z", "1"}}));  // names with _ are not in `them`
  CHECK(t.matches(Event{{"X", "1"}}));

  auto list = one_rule("  sel:\n    - X: '1'\n    - Y: '1'\n  condition: sel\n");
  CHECK(list.matches(Event{{"Y", "1"}}));

  auto kw = one_rule("  keywords:\n    - 'mimikatz'\n    - 'sekurlsa'\n  condition: keywords\n");
  CHECK(kw.matches(Event{{"Anything", "run Invoke-Mimikatz now"}}));
  CHECK_FALSE(kw.matches(Event{{"Anything", "notepad"}}));
}

TEST_CASE("Sigma rules that cannot run are skipped with file, line and reason", "[sigma]") {
  CHECK_THAT(skip_reason("  sel:\n    X|frobnicate: '1'\n  condition: sel\n"), Catch::Contains("unknown modifier |frobnicate"));
  CHECK_THAT(skip_reason("  sel:\n    X: '1'\n  condition: sel and other\n"), Catch::Contains("'other'"));
  CHECK_THAT(skip_reason("  sel:\n    X: '1'\n  condition: sel | count() > 5\n"), Catch::Contains("correlation"));
  CHECK_THAT(skip_reason("  sel:\n    X|expand: '%DomainControllers%'\n  condition: sel\n"),
             Catch::Contains("%DomainControllers%"));
  CHECK_THAT(skip_reason("  sel:\n    X: '1'\n  condition: 1 of nothing_*\n"), Catch::Contains("matches no search"));
  CHECK_THAT(skip_reason("  sel:\n    X: '1'\n  condition: (sel\n"), Catch::Contains("never closed"));
  CHECK_THAT(skip_reason("  sel:\n    X|base64: 'a*'\n  condition: sel\n"), Catch::Contains("wildcards"));
}

TEST_CASE("Sigma correlation rules are read with their type, group-by, timespan and condition", "[sigma]") {
  SigmaSet set;
  parse_sigma_text("title: failed logon\nname: failed_logon\nlogsource:\n  product: windows\n  service: security\n"
                   "detection:\n  sel:\n    EventID: 4625\n  condition: sel\n---\n"
                   "title: spraying\ncorrelation:\n  type: value_count\n  rules: [failed_logon]\n"
                   "  group-by: [IpAddress]\n  timespan: 10m\n  condition:\n    gte: 10\n    field: TargetUserName\n",
                   "c.yml", set);
  REQUIRE(set.skipped.empty());
  REQUIRE(set.rules.size() == 1);
  REQUIRE(set.correlations.size() == 1);
  const auto& c = set.correlations.front();
  CHECK(c.type == SigmaCorrelation::Type::kValueCount);
  CHECK(c.rules == std::vector<std::string>{"failed_logon"});
  CHECK(c.group_by == std::vector<std::string>{"IpAddress"});
  CHECK(c.timespan_seconds == 600);
  REQUIRE(c.bounds.size() == 1);
  CHECK(c.bounds.front().op == "gte");
  CHECK(c.bounds.front().value == 10);
  CHECK(c.holds(10));
  CHECK_FALSE(c.holds(9));
  CHECK(c.field == "TargetUserName");
  CHECK(set.rules.front().matches(Event{{"EventID", "4625"}}));
}
