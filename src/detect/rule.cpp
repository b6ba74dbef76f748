#include "detect/rule.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/text.hpp"
#include "core/vocabulary.hpp"

namespace treeline::rule_files {
const std::vector<std::pair<std::string_view, std::string_view>>& embedded_files();
}

namespace treeline::detect {
namespace {

struct RuleError {
  int line;
  std::string what;
};

[[noreturn]] void bad(const YAML::Node& n, const std::string& what) {
  throw RuleError{n.Mark().line >= 0 ? n.Mark().line + 1 : 0, what};
}

std::vector<std::string> strings(const YAML::Node& n) {
  std::vector<std::string> out;
  if (n.IsScalar()) out.push_back(n.as<std::string>());
  else if (n.IsSequence())
    for (const auto& v : n) {
      if (!v.IsScalar()) bad(v, "a value list may hold only plain values");
      out.push_back(v.as<std::string>());
    }
  else bad(n, "expected a value or a list of values");
  return out;
}

Condition condition(const std::string& key, const YAML::Node& value, const YAML::Node& where) {
  Condition c;
  std::stringstream ss(key);
  std::string part;
  std::getline(ss, c.field, '|');
  if (std::find_if(std::begin(kFields), std::end(kFields), [&](const char* f) { return c.field == f; }) == std::end(kFields))
    bad(where, fmt::format("unknown field '{}' (fields: image, command_line, user, integrity, elevation, logon_type, "
                           "source_ip, original_file_name, session_admin, renamed, host)", c.field));
  while (std::getline(ss, part, '|')) {
    if (part == "contains") c.op = Condition::Op::kContains;
    else if (part == "startswith") c.op = Condition::Op::kStartsWith;
    else if (part == "endswith") c.op = Condition::Op::kEndsWith;
    else if (part == "re") c.op = Condition::Op::kRegex;
    else if (part == "all") c.all = true;
    else if (part == "cased") c.cased = true;
    else bad(where, fmt::format("unknown modifier '|{}' (contains, startswith, endswith, all, re, cased)", part));
  }
  c.values = strings(value);
  if (c.values.empty()) bad(value, "empty value list");
  for (auto& v : c.values) {
    if (c.op == Condition::Op::kRegex) {
      auto re = Regex::compile(v, {.case_insensitive = !c.cased});
      if (!re) bad(value, re.error().message);
      c.regexes.push_back(std::move(*re));
    } else if (!c.cased) {
      v = to_lower_ascii(v);
    }
  }
  return c;
}

Step step(const YAML::Node& n, bool first) {
  if (!n.IsMap()) bad(n, "a chain step is a map of field conditions");
  Step s;
  for (const auto& kv : n) {
    std::string key = kv.first.as<std::string>();
    if (key == "relation") {
      std::string r = kv.second.as<std::string>();
      if (first) bad(kv.first, "the first step has no relation: it is where the chain starts");
      if (r == "descendant") s.descendant = true;
      else if (r != "child") bad(kv.second, "relation is 'child' or 'descendant'");
    } else if (key == "not") {
      if (!kv.second.IsMap()) bad(kv.second, "'not' takes a map of field conditions");
      for (const auto& nk : kv.second) s.none_of.push_back(condition(nk.first.as<std::string>(), nk.second, nk.first));
    } else {
      s.all_of.push_back(condition(key, kv.second, kv.first));
    }
  }
  if (s.all_of.empty() && s.none_of.empty()) bad(n, "a chain step needs at least one condition");
  return s;
}

Rule rule_from(const YAML::Node& root, const std::string& file) {
  if (!root.IsMap()) bad(root, "a rule file holds one map");
  static const std::set<std::string> kKeys = {"id", "title", "severity", "action", "attack", "log_id", "chain", "target", "decode"};
  for (const auto& kv : root)
    if (!kKeys.count(kv.first.as<std::string>())) bad(kv.first, fmt::format("unknown key '{}'", kv.first.as<std::string>()));
  Rule r;
  r.file = file;
  auto required = [&](const char* key) {
    if (!root[key] || !root[key].IsScalar() || root[key].as<std::string>().empty())
      bad(root, fmt::format("missing '{}'", key));
    return root[key].as<std::string>();
  };
  r.id = required("id");
  r.title = required("title");
  r.severity = required("severity");
  if (severity_rank(r.severity) < 0) bad(root["severity"], "severity is informational, low, medium, high or critical");
  r.action = required("action");
  if (root["attack"]) r.attack = strings(root["attack"]);
  for (const auto& t : r.attack)
    if (t.size() < 5 || t[0] != 'T') bad(root["attack"], fmt::format("'{}' is not an ATT&CK technique id (T1234, T1234.001)", t));
  if (root["log_id"]) r.log_id = root["log_id"].as<std::string>();
  if (root["decode"]) {
    r.decode = root["decode"].as<std::string>();
    if (r.decode != "powershell_base64") bad(root["decode"], "decode knows only 'powershell_base64'");
  }
  const YAML::Node& chain = root["chain"];
  if (!chain || !chain.IsSequence() || chain.size() == 0) bad(root, "missing 'chain': a list of steps, ancestor first");
  for (size_t i = 0; i < chain.size(); ++i) r.chain.push_back(step(chain[i], i == 0));
  if (const YAML::Node& t = root["target"]) {
    TargetSpec ts;
    for (const auto& kv : t) {
      std::string key = kv.first.as<std::string>();
      auto re = [&](const YAML::Node& v) {
        auto compiled = Regex::compile(v.as<std::string>(), {.case_insensitive = true});
        if (!compiled) bad(v, compiled.error().message);
        return std::move(*compiled);
      };
      if (key == "pid") ts.pid = re(kv.second);
      else if (key == "name") ts.name = re(kv.second);
      else if (key == "required") ts.required = kv.second.as<bool>();
      else if (key.rfind("image", 0) == 0) ts.image = condition(key, kv.second, kv.first);
      else bad(kv.first, fmt::format("unknown target key '{}' (pid, name, image|..., required)", key));
    }
    if (!ts.pid && !ts.name) bad(t, "a target needs 'pid' or 'name'");
    r.target = std::move(ts);
  }
  return r;
}

}  // namespace

bool Condition::matches(const std::string& raw) const {
  if (raw.empty()) return false;
  const std::string value = cased || op == Op::kRegex ? raw : to_lower_ascii(raw);
  auto one = [&](size_t i) {
    const std::string& v = values[i];
    switch (op) {
      case Op::kEquals: return value == v;
      case Op::kContains: return value.find(v) != std::string::npos;
      case Op::kStartsWith: return value.rfind(v, 0) == 0;
      case Op::kEndsWith: return value.size() >= v.size() && value.compare(value.size() - v.size(), v.size(), v) == 0;
      case Op::kRegex: return regexes[i].search(value);
    }
    return false;
  };
  for (size_t i = 0; i < values.size(); ++i) {
    bool m = one(i);
    if (all && !m) return false;
    if (!all && m) return true;
  }
  return all;
}

Expected<Rule> parse_rule(const std::string& text, const std::string& file) {
  try {
    return rule_from(YAML::Load(text), file);
  } catch (const RuleError& e) {
    return Error{ErrorCode::kUsage, fmt::format("{}:{}: {}", file, e.line, e.what)};
  } catch (const YAML::Exception& e) {
    return Error{ErrorCode::kUsage, fmt::format("{}:{}: {}", file, e.mark.line + 1, e.msg)};
  }
}

Expected<std::vector<Rule>> load_rules(const std::string& extra_dir) {
  std::vector<Rule> rules;
  for (const auto& [name, text] : rule_files::embedded_files()) {
    auto r = parse_rule(std::string(text), "rules/" + std::string(name));
    if (!r) return r.error();
    rules.push_back(std::move(r.value()));
  }
  if (!extra_dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(extra_dir, ec))
      return Error{ErrorCode::kUsage, fmt::format("{}: not a folder of rules", extra_dir)};
    std::vector<std::filesystem::path> files;
    std::filesystem::recursive_directory_iterator it(extra_dir, ec), end;
    for (; !ec && it != end; it.increment(ec))
      if (it->is_regular_file(ec) && (it->path().extension() == ".yml" || it->path().extension() == ".yaml"))
        files.push_back(it->path());
    if (ec) return Error{ErrorCode::kIo, fmt::format("{}: cannot list the rules folder: {}", extra_dir, ec.message())};
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f);
      std::stringstream ss;
      ss << in.rdbuf();
      if (!in) return Error{ErrorCode::kIo, fmt::format("{}: cannot read", f.string())};
      auto r = parse_rule(ss.str(), f.string());
      if (!r) return r.error();
      rules.push_back(std::move(r.value()));
    }
  }
  std::set<std::string> ids;
  for (const auto& r : rules)
    if (!ids.insert(r.id).second) return Error{ErrorCode::kUsage, fmt::format("{}: rule id '{}' is used twice", r.file, r.id)};
  return rules;
}

}  // namespace treeline::detect
