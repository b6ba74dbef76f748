#include "detect/sigma_rule.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

namespace treeline::sigma_files {
const std::vector<std::pair<std::string_view, std::string_view>>& embedded_files();
}

namespace treeline::detect::sigma {
namespace {

struct RuleError {
  int line;
  std::string what;
};

int line_of(const YAML::Node& n) { return n.Mark().line >= 0 ? n.Mark().line + 1 : 0; }

[[noreturn]] void bad(const YAML::Node& n, const std::string& what) { throw RuleError{line_of(n), what}; }

std::string text_of(const YAML::Node& doc, const char* key) {
  const YAML::Node n = doc[key];
  return n && n.IsScalar() ? n.as<std::string>() : std::string();
}

RawValue raw(const YAML::Node& n) {
  if (n.IsNull()) return RawValue{};
  if (!n.IsScalar()) bad(n, "a value list may hold only plain values");
  return RawValue{n.as<std::string>()};
}

FieldCondition compiled(const std::string& key, const YAML::Node& value, bool keyword) {
  std::vector<RawValue> values;
  if (value.IsSequence()) {
    for (const auto& v : value) values.push_back(raw(v));
  } else {
    values.push_back(raw(value));
  }
  auto fc = compile_condition(key, values, keyword);
  if (!fc) bad(value, keyword ? fc.error().message : fmt::format("{}: {}", key, fc.error().message));
  return std::move(*fc);
}

std::vector<FieldCondition> conjunction(const YAML::Node& map) {
  std::vector<FieldCondition> out;
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    // A key that is only modifiers (`'|all': [...]`) modifies a keyword list.
    out.push_back(compiled(key, kv.second, key.empty() || key.front() == '|'));
  }
  if (out.empty()) bad(map, "an empty selection");
  return out;
}

Search search(const YAML::Node& n) {
  Search s;
  if (n.IsMap()) {
    s.any_of.push_back(conjunction(n));
  } else if (n.IsSequence()) {
    bool maps = std::all_of(n.begin(), n.end(), [](const YAML::Node& e) { return e.IsMap(); });
    bool scalars = std::all_of(n.begin(), n.end(), [](const YAML::Node& e) { return e.IsScalar() || e.IsNull(); });
    if (maps) {
      for (const auto& e : n) s.any_of.push_back(conjunction(e));
    } else if (scalars) {
      s.any_of.push_back({compiled("", n, true)});
    } else {
      bad(n, "a search list mixes maps and plain values");
    }
    if (s.any_of.empty()) bad(n, "an empty search list");
  } else if (n.IsScalar()) {
    s.any_of.push_back({compiled("", n, true)});
  } else {
    bad(n, "a search is a map, a list of maps or a list of keywords");
  }
  return s;
}

void read_meta(const YAML::Node& doc, std::string& id, std::string& name, std::string& title, std::string& level,
               std::vector<std::string>& tags) {
  id = text_of(doc, "id");
  name = text_of(doc, "name");
  title = text_of(doc, "title");
  level = text_of(doc, "level");
  if (const YAML::Node t = doc["tags"]; t && t.IsSequence())
    for (const auto& v : t)
      if (v.IsScalar()) tags.push_back(v.as<std::string>());
  if (title.empty()) bad(doc, "the rule has no title");
}

using IdSet = std::optional<std::set<int64_t>>;  // nothing: any EventID

// The EventIDs a search needs: each of its maps must test EventID by exact numbers.
IdSet search_ids(const Search& s) {
  std::set<int64_t> out;
  for (const auto& all : s.any_of) {
    bool found = false;
    for (const auto& c : all) {
      if (c.field != "EventID" || c.all) continue;
      std::set<int64_t> ids;
      bool exact = true;
      for (const auto& group : c.values)
        for (const auto& m : group) {
          char* end = nullptr;
          long long v = std::strtoll(m.text.c_str(), &end, 10);
          if (m.kind != ValueMatcher::Kind::kExact || m.text.empty() || *end != '\0') exact = false;
          else ids.insert(v);
        }
      if (exact && !ids.empty()) {
        out.insert(ids.begin(), ids.end());
        found = true;
        break;
      }
    }
    if (!found) return std::nullopt;
  }
  return out;
}

IdSet node_ids(const ConditionNode& n, const std::vector<IdSet>& ids) {
  using K = ConditionNode::Kind;
  auto intersect = [](const std::vector<IdSet>& sets) -> IdSet {
    IdSet acc;
    for (const auto& s : sets) {
      if (!s) continue;
      if (!acc) { acc = s; continue; }
      std::set<int64_t> both;
      std::set_intersection(acc->begin(), acc->end(), s->begin(), s->end(), std::inserter(both, both.end()));
      acc = std::move(both);
    }
    return acc;
  };
  auto unite = [](const std::vector<IdSet>& sets) -> IdSet {
    std::set<int64_t> all;
    for (const auto& s : sets) {
      if (!s) return std::nullopt;
      all.insert(s->begin(), s->end());
    }
    return all;
  };
  std::vector<IdSet> parts;
  switch (n.kind) {
    case K::kRef: return ids[n.refs.front()];
    case K::kNot: return std::nullopt;  // a negation needs nothing of the event
    case K::kAnd: case K::kOr:
      for (const auto& c : n.children) parts.push_back(node_ids(c, ids));
      return n.kind == K::kAnd ? intersect(parts) : unite(parts);
    case K::kAll: case K::kAtLeast:
      for (size_t r : n.refs) parts.push_back(ids[r]);
      // N of them needs one of them at least; all of them needs each.
      return n.kind == K::kAll ? intersect(parts) : unite(parts);
  }
  return std::nullopt;
}

SigmaRule rule(const YAML::Node& doc, const std::string& file) {
  SigmaRule r;
  r.file = file;
  r.line = line_of(doc);
  read_meta(doc, r.id, r.name, r.title, r.level, r.tags);
  r.status = text_of(doc, "status");
  if (const YAML::Node ls = doc["logsource"]; ls && ls.IsMap()) {
    r.logsource.product = text_of(ls, "product");
    r.logsource.service = text_of(ls, "service");
    r.logsource.category = text_of(ls, "category");
  } else {
    bad(doc, "the rule has no logsource");
  }
  const YAML::Node det = doc["detection"];
  if (!det || !det.IsMap()) bad(doc, "the rule has no detection");
  YAML::Node cond;
  for (const auto& kv : det) {
    const std::string key = kv.first.as<std::string>();
    if (key == "condition") {
      cond = kv.second;
    } else if (key == "timeframe") {
      bad(kv.first, "detection.timeframe (Sigma 1.0 aggregation) is not supported: Sigma 2.0 writes it as a "
                    "correlation rule");
    } else {
      r.search_names.push_back(key);
      r.searches.push_back(search(kv.second));
    }
  }
  if (!cond) bad(det, "the detection has no condition");
  std::vector<std::string> conditions;
  if (cond.IsScalar()) conditions.push_back(cond.as<std::string>());
  else if (cond.IsSequence())
    for (const auto& c : cond) conditions.push_back(c.as<std::string>());
  else bad(cond, "the condition is a string or a list of strings");
  ConditionNode any;
  any.kind = ConditionNode::Kind::kOr;
  for (const auto& c : conditions) {
    auto node = parse_condition(c, r.search_names);
    if (!node) bad(cond, node.error().message);
    any.children.push_back(std::move(*node));
  }
  if (any.children.empty()) bad(cond, "the condition is empty");
  r.condition = any.children.size() == 1 ? std::move(any.children.front()) : std::move(any);
  std::vector<IdSet> ids;
  for (const auto& s : r.searches) ids.push_back(search_ids(s));
  if (IdSet need = node_ids(r.condition, ids)) r.event_ids = std::vector<int64_t>(need->begin(), need->end());
  return r;
}

int64_t timespan(const YAML::Node& n) {
  std::string t = n.as<std::string>();
  static constexpr std::pair<char, int64_t> kUnits[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
  if (t.size() >= 2 && std::all_of(t.begin(), t.end() - 1, [](unsigned char c) { return std::isdigit(c); }))
    for (const auto& [unit, seconds] : kUnits)
      if (t.back() == unit) return std::stoll(t.substr(0, t.size() - 1)) * seconds;
  bad(n, fmt::format("timespan '{}': expected a number and s, m, h, d or w", t));
}

SigmaCorrelation correlation(const YAML::Node& doc, const std::string& file) {
  SigmaCorrelation c;
  c.file = file;
  c.line = line_of(doc);
  read_meta(doc, c.id, c.name, c.title, c.level, c.tags);
  const YAML::Node body = doc["correlation"];
  if (!body.IsMap()) bad(body, "correlation is a map");
  const std::string type = text_of(body, "type");
  using T = SigmaCorrelation::Type;
  if (type == "event_count") c.type = T::kEventCount;
  else if (type == "value_count") c.type = T::kValueCount;
  else if (type == "temporal") c.type = T::kTemporal;
  else if (type == "temporal_ordered") c.type = T::kTemporalOrdered;
  else bad(body, fmt::format("correlation type '{}' (event_count, value_count, temporal, temporal_ordered)", type));
  const YAML::Node rules = body["rules"];
  if (rules && rules.IsSequence())
    for (const auto& r : rules) c.rules.push_back(r.as<std::string>());
  else if (rules && rules.IsScalar())
    c.rules.push_back(rules.as<std::string>());
  if (c.rules.empty()) bad(body, "the correlation names no rules");
  if (const YAML::Node g = body["group-by"]; g && g.IsSequence())
    for (const auto& v : g) c.group_by.push_back(v.as<std::string>());
  const YAML::Node span = body["timespan"] ? body["timespan"] : body["timeframe"];
  if (!span) bad(body, "the correlation has no timespan");
  c.timespan_seconds = timespan(span);
  if (const YAML::Node g = body["generate"] ? body["generate"] : doc["generate"]; g) c.generate = g.as<bool>();
  if (const YAML::Node al = body["aliases"]; al) {
    if (!al.IsMap()) bad(al, "aliases is a map of alias -> (rule name -> field)");
    for (const auto& kv : al) {
      if (!kv.second.IsMap()) bad(kv.second, "an alias maps rule names to fields");
      auto& [alias, fields] = c.aliases.emplace_back(kv.first.as<std::string>(), decltype(c.aliases)::value_type::second_type{});
      for (const auto& f : kv.second) fields.emplace_back(f.first.as<std::string>(), f.second.as<std::string>());
    }
  }
  const bool counts = c.type == T::kEventCount || c.type == T::kValueCount;
  const YAML::Node cond = body["condition"];
  if (counts && (!cond || !cond.IsMap())) bad(body, "a count correlation needs a condition map (gte: N, …)");
  if (cond && !cond.IsMap()) bad(cond, "the correlation condition is a map (gte: N, …)");
  if (cond)
    for (const auto& kv : cond) {
      const std::string key = kv.first.as<std::string>();
      if (key == "field") {
        c.field = kv.second.as<std::string>();
      } else if (key == "gt" || key == "gte" || key == "lt" || key == "lte" || key == "eq" || key == "neq") {
        c.bounds.push_back({key, kv.second.as<int64_t>()});
      } else {
        bad(kv.first, fmt::format("unknown correlation condition '{}'", key));
      }
    }
  if (counts && c.bounds.empty()) bad(cond, "the correlation condition has no comparison");
  if (c.type == T::kValueCount && c.field.empty()) bad(cond, "value_count needs condition.field");
  // An ordered sequence is complete or not; a count of its rules has no order to keep.
  if (c.type == T::kTemporalOrdered && !c.bounds.empty())
    bad(cond, "temporal_ordered with a condition is not supported: the sequence of all its rules is matched");
  return c;
}

}  // namespace

bool SigmaCorrelation::Bound::holds(int64_t n) const {
  if (op == "gt") return n > value;
  if (op == "gte") return n >= value;
  if (op == "lt") return n < value;
  if (op == "lte") return n <= value;
  if (op == "eq") return n == value;
  return n != value;  // neq
}

bool SigmaCorrelation::holds(int64_t n) const {
  return std::all_of(bounds.begin(), bounds.end(), [&](const Bound& b) { return b.holds(n); });
}

const std::string& SigmaCorrelation::field_for(const std::string& wanted, const std::string& ref_name) const {
  for (const auto& [alias, fields] : aliases)
    if (alias == wanted) {
      for (const auto& [rule, its_field] : fields)
        if (rule == ref_name) return its_field;
    }
  return wanted;
}

bool Search::matches(const FieldSource& event) const {
  return std::any_of(any_of.begin(), any_of.end(), [&](const std::vector<FieldCondition>& all) {
    return std::all_of(all.begin(), all.end(), [&](const FieldCondition& c) { return c.matches(event); });
  });
}

bool SigmaRule::matches(const FieldSource& event) const {
  return evaluate(condition, [&](size_t i) { return searches[i].matches(event); });
}

void parse_sigma_text(const std::string& text, const std::string& file, SigmaSet& into) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    into.skipped.push_back({file, e.mark.line >= 0 ? e.mark.line + 1 : 0, fmt::format("YAML: {}", e.msg)});
    return;
  }
  for (const auto& doc : docs) {
    if (!doc || doc.IsNull()) continue;
    try {
      if (!doc.IsMap()) bad(doc, "a rule document is a map");
      if (doc["action"]) bad(doc, "rule collections (action: global/reset/repeat, Sigma 1.0) are not supported");
      if (doc["correlation"]) into.correlations.push_back(correlation(doc, file));
      else into.rules.push_back(rule(doc, file));
    } catch (const RuleError& e) {
      into.skipped.push_back({file, e.line, e.what});
    } catch (const YAML::Exception& e) {
      into.skipped.push_back({file, e.mark.line >= 0 ? e.mark.line + 1 : line_of(doc), fmt::format("YAML: {}", e.msg)});
    }
  }
}

SigmaSet load_sigma(const std::vector<std::string>& paths, bool with_builtin) {
  namespace fs = std::filesystem;
  SigmaSet set;
  if (with_builtin)
    for (const auto& [name, text] : sigma_files::embedded_files()) {
      ++set.files;
      parse_sigma_text(std::string(text), "rules/sigma/" + std::string(name), set);
    }
  for (const auto& path : paths) {
    std::error_code ec;
    std::vector<fs::path> files;
    if (fs::is_directory(path, ec)) {
      for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        auto ext = it->path().extension().string();
        if (it->is_regular_file(ec) && (ext == ".yml" || ext == ".yaml")) files.push_back(it->path());
      }
      if (ec) set.skipped.push_back({path, 0, fmt::format("cannot read the folder: {}", ec.message())});
      std::sort(files.begin(), files.end());
    } else if (fs::exists(path, ec)) {
      files.emplace_back(path);
    } else {
      set.skipped.push_back({path, 0, "no such file or folder"});
    }
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      if (!in && !in.eof()) {
        set.skipped.push_back({f.string(), 0, "cannot read the file"});
        continue;
      }
      ++set.files;
      parse_sigma_text(ss.str(), f.string(), set);
    }
  }
  link_correlations(set);
  return set;
}

}  // namespace treeline::detect::sigma
