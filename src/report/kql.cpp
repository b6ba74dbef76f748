#include "report/kql.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "store/query.hpp"

namespace treeline::report::kql {
namespace {

enum class Kind { kKeyword, kText, kNumber, kDate, kList };

// The ecs view's columns a query may name, with their ECS (or Winlogbeat) type.
const std::map<std::string, Kind, std::less<>>& fields() {
  static const std::map<std::string, Kind, std::less<>> f = {
      {"@timestamp", Kind::kDate},        {"event.kind", Kind::kKeyword},
      {"event.code", Kind::kKeyword},     {"event.provider", Kind::kKeyword},
      {"event.action", Kind::kKeyword},   {"winlog.channel", Kind::kKeyword},
      {"winlog.record_id", Kind::kKeyword}, {"winlog.computer_name", Kind::kKeyword},
      {"winlog.event_id", Kind::kKeyword}, {"winlog.provider_name", Kind::kKeyword},
      {"winlog.version", Kind::kNumber},  {"winlog.process.pid", Kind::kNumber},
      {"host.name", Kind::kKeyword},      {"message", Kind::kText},
      {"process.entity_id", Kind::kKeyword}, {"process.pid", Kind::kNumber},
      {"process.executable", Kind::kKeyword}, {"process.name", Kind::kKeyword},
      {"process.command_line", Kind::kKeyword}, {"process.parent.entity_id", Kind::kKeyword},
      {"process.parent.pid", Kind::kNumber}, {"process.parent.executable", Kind::kKeyword},
      {"process.parent.name", Kind::kKeyword}, {"process.start", Kind::kDate},
      {"process.end", Kind::kDate},       {"user.name", Kind::kKeyword},
      {"user.domain", Kind::kKeyword},    {"winlog.logon.id", Kind::kKeyword},
      {"rule.id", Kind::kKeyword},        {"rule.name", Kind::kKeyword},
      {"threat.technique.id", Kind::kList}, {"log.id", Kind::kKeyword},
      {"treeline.document", Kind::kKeyword}, {"treeline.severity", Kind::kKeyword},
      {"treeline.link_method", Kind::kKeyword}, {"treeline.link_confidence", Kind::kNumber},
      {"treeline.record_id", Kind::kNumber}};
  return f;
}

constexpr std::string_view kEventData = "winlog.event_data.";

// A value: its characters, each literal or a wildcard (* any run, ? one character).
struct Value {
  std::string text;
  std::vector<char> wild;  // per character: 0 literal, '*' or '?'
  bool quoted = false;
  bool any_wildcard() const { return std::any_of(wild.begin(), wild.end(), [](char w) { return w != 0; }); }
  bool only_star() const { return text.size() == 1 && wild[0] == '*'; }
  std::string glob() const {
    std::string g;
    for (size_t i = 0; i < text.size(); ++i) {
      if (wild[i]) g += wild[i];
      else if (text[i] == '*' || text[i] == '?' || text[i] == '[') g += std::string("[") + text[i] + "]";
      else g += text[i];
    }
    return g;
  }
  std::string like() const {
    std::string l;
    for (size_t i = 0; i < text.size(); ++i) {
      if (wild[i]) l += wild[i] == '*' ? '%' : '_';
      else if (text[i] == '%' || text[i] == '_' || text[i] == '\\') l += std::string("\\") + text[i];
      else l += text[i];
    }
    return l;
  }
};

bool special(char c) { return c == '\\' || c == '(' || c == ')' || c == ':' || c == '<' || c == '>' || c == '"' || c == '{' || c == '}'; }

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Expected<Translation> run() {
    skip_space();
    if (at_end()) return fail("an empty query");
    auto q = parse_or("");
    if (!q) return q.error();
    skip_space();
    if (!at_end()) return fail(fmt::format("unexpected '{}'", s_[pos_]));
    t_.where = *q;
    return std::move(t_);
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
  Translation t_;

  bool at_end() const { return pos_ >= s_.size(); }
  void skip_space() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  Error fail(const std::string& what) const {
    return Error{ErrorCode::kUsage, fmt::format("KQL: column {}: {}", pos_ + 1, what)};
  }
  // A keyword (and/or/not) at pos_, as a whole word.
  bool keyword_at(size_t at, std::string_view word) const {
    if (at + word.size() > s_.size()) return false;
    for (size_t i = 0; i < word.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(s_[at + i])) != word[i]) return false;
    size_t end = at + word.size();
    return end == s_.size() || std::isspace(static_cast<unsigned char>(s_[end])) || s_[end] == '(' || s_[end] == ')';
  }
  bool take_keyword(std::string_view word) {
    skip_space();
    if (!keyword_at(pos_, word)) return false;
    pos_ += word.size();
    return true;
  }

  using Part = Expected<std::string>;

  // query := and (or and)* ; and := not (and not)* ; not := 'not' not | sub. Value lists under a
  // field have the same shape (list_or, list_and, list_not).
  template <typename Next>
  Part chain(std::string_view word, const char* sql, Next next) {
    auto left = next();
    if (!left) return left;
    std::string out = *left;
    while (take_keyword(word)) {
      auto right = next();
      if (!right) return right;
      out = fmt::format("({} {} {})", out, sql, *right);
    }
    return out;
  }
  Part parse_or(const std::string& prefix) {
    return chain("or", "OR", [&] { return parse_and(prefix); });
  }
  Part parse_and(const std::string& prefix) {
    return chain("and", "AND", [&] { return parse_not(prefix); });
  }
  Part parse_not(const std::string& prefix) {
    if (take_keyword("not")) {
      auto inner = parse_not(prefix);
      if (!inner) return inner;
      return "NOT coalesce(" + *inner + ", 0)";
    }
    return parse_sub(prefix);
  }
  Part parse_sub(const std::string& prefix) {
    skip_space();
    if (at_end()) return fail("expected a field, a value or '('");
    if (s_[pos_] == '(') {
      ++pos_;
      auto inner = parse_or(prefix);
      if (!inner) return inner;
      skip_space();
      if (at_end() || s_[pos_] != ')') return fail("expected ')'");
      ++pos_;
      return *inner;
    }
    if (s_[pos_] == '"') {  // a bare quoted phrase
      auto v = read_value();
      if (!v) return v.error();
      return bare(*v);
    }
    const size_t start = pos_;
    auto word = read_value();
    if (!word) return word.error();
    skip_space();
    if (!at_end() && s_[pos_] == ':') {
      ++pos_;
      const std::string field = prefix + word->text;
      skip_space();
      if (!at_end() && s_[pos_] == '{') {  // nested: its fields are under this one
        ++pos_;
        auto inner = parse_or(field + ".");
        if (!inner) return inner;
        skip_space();
        if (at_end() || s_[pos_] != '}') return fail("expected '}'");
        ++pos_;
        return *inner;
      }
      return parse_list_not(field);  // and/or between values only inside parentheses
    }
    if (!at_end() && (s_[pos_] == '<' || s_[pos_] == '>')) {
      std::string op(1, s_[pos_++]);
      if (!at_end() && s_[pos_] == '=') op += s_[pos_++];
      skip_space();
      auto v = read_value();
      if (!v) return v.error();
      if (v->text.empty()) return fail("expected a value after " + op);
      return range(prefix + word->text, op, *v);
    }
    if (word->text.empty()) {
      pos_ = start;
      return fail(fmt::format("unexpected '{}'", s_[pos_]));
    }
    return bare(*word);
  }

  Part parse_list_or(const std::string& field) {
    return chain("or", "OR", [&] { return parse_list_and(field); });
  }
  Part parse_list_and(const std::string& field) {
    return chain("and", "AND", [&] { return parse_list_not(field); });
  }
  Part parse_list_not(const std::string& field) {
    if (take_keyword("not")) {
      auto inner = parse_list_not(field);
      if (!inner) return inner;
      return "NOT coalesce(" + *inner + ", 0)";
    }
    skip_space();
    if (!at_end() && s_[pos_] == '(') {
      ++pos_;
      auto inner = parse_list_or(field);
      if (!inner) return inner;
      skip_space();
      if (at_end() || s_[pos_] != ')') return fail("expected ')'");
      ++pos_;
      return *inner;
    }
    auto v = read_value();
    if (!v) return v.error();
    if (v->text.empty() && !v->quoted) return fail("expected a value after '" + field + ":'");
    return match(field, *v);
  }

  // A quoted phrase, or an unquoted literal up to a special character or a keyword.
  Expected<Value> read_value() {
    skip_space();
    Value v;
    if (!at_end() && s_[pos_] == '"') {
      v.quoted = true;
      ++pos_;
      while (!at_end() && s_[pos_] != '"') {
        if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
        v.text += s_[pos_++];
        v.wild.push_back(0);
      }
      if (at_end()) return fail("the quoted phrase is not closed");
      ++pos_;
      return v;
    }
    while (!at_end()) {
      char c = s_[pos_];
      if (c == '\\') {
        if (pos_ + 1 >= s_.size()) return fail("a '\\' at the end escapes nothing");
        v.text += s_[pos_ + 1];
        v.wild.push_back(0);
        pos_ += 2;
        continue;
      }
      if (special(c)) break;
      if (std::isspace(static_cast<unsigned char>(c))) {
        // A keyword after the space ends the literal; else the space is part of it.
        size_t next = pos_;
        while (next < s_.size() && std::isspace(static_cast<unsigned char>(s_[next]))) ++next;
        if (next >= s_.size() || special(s_[next]) || keyword_at(next, "and") || keyword_at(next, "or") ||
            keyword_at(next, "not"))
          break;
      }
      v.text += c;
      v.wild.push_back(c == '*' || c == '?' ? c : 0);
      ++pos_;
    }
    while (!v.text.empty() && std::isspace(static_cast<unsigned char>(v.text.back())) && !v.wild.back()) {
      v.text.pop_back();
      v.wild.pop_back();
    }
    return v;
  }

  // The column (or data field) a name means, and its kind; empty when no document has it.
  std::pair<std::string, Kind> column(const std::string& field) {
    if (auto it = fields().find(field); it != fields().end()) return {"\"" + field + "\"", it->second};
    if (field.rfind(kEventData, 0) == 0 && field.size() > kEventData.size()) {
      std::string name = field.substr(kEventData.size());
      std::string quoted;
      for (char c : name) quoted += c == '"' ? std::string("\\\"") : c == '\'' ? std::string("''") : std::string(1, c);
      return {fmt::format("json_extract(\"_data\", '$.\"{}\"')", quoted), Kind::kKeyword};
    }
    t_.warnings.push_back(fmt::format("no document has the field '{}': it matches nothing", field));
    return {"NULL", Kind::kKeyword};
  }

  std::string param(const std::string& text) {
    t_.params.emplace_back(std::in_place_type<std::string>, text);
    return "?";
  }
  std::string param(double number) {
    t_.params.emplace_back(std::in_place_type<double>, number);
    return "?";
  }

  std::string match(const std::string& field, const Value& v) {
    auto [col, kind] = column(field);
    if (!v.quoted && v.only_star()) return fmt::format("({0} IS NOT NULL AND {0} <> '')", col);
    switch (kind) {
      case Kind::kText:
        // An analyzed text field: case-insensitive; a phrase or a term anywhere in it.
        return fmt::format("{} LIKE {} ESCAPE '\\'", col, param("%" + v.like() + "%"));
      case Kind::kNumber:
        if (!v.any_wildcard())
          if (auto n = parse_number(v.text)) return fmt::format("{} = {}", col, param(*n));
        return fmt::format("CAST({} AS TEXT) GLOB {}", col, param(v.glob()));
      case Kind::kDate:
        // A date written shorter than the stored one means all of that day, hour, ...
        return fmt::format("{} GLOB {}", col, param(v.glob() + "*"));
      case Kind::kList:
        return fmt::format("(',' || {} || ',') GLOB {}", col, param("*," + v.glob() + ",*"));
      case Kind::kKeyword:
        if (!v.any_wildcard()) return fmt::format("{} = {}", col, param(v.text));
        return fmt::format("{} GLOB {}", col, param(v.glob()));
    }
    return "0";
  }

  static std::optional<double> parse_number(const std::string& s) {
    if (s.empty()) return std::nullopt;
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size()) return std::nullopt;
    return d;
  }

  Part range(const std::string& field, const std::string& op, const Value& v) {
    auto [col, kind] = column(field);
    if (kind == Kind::kNumber) {
      auto n = parse_number(v.text);
      if (!n) return fail(fmt::format("'{}' is not a number, as {} needs", v.text, field));
      return fmt::format("{} {} {}", col, op, param(*n));
    }
    // Dates and keywords compare as text: ISO 8601 UTC sorts as time does.
    return fmt::format("{} {} {}", col, op, param(v.text));
  }

  // A value with no field: any text or keyword field of the document.
  std::string bare(const Value& v) {
    static const char* kSearched[] = {"message", "event.code", "event.action", "winlog.channel", "host.name",
                                      "process.executable", "process.command_line", "process.entity_id",
                                      "user.name", "rule.id", "rule.name", "log.id"};
    std::string out = "(";
    for (const char* f : kSearched) out += (out.size() > 1 ? " OR " : "") + match(f, v);
    return out + ")";
  }
};

// A terminal's columns: time to the second, the host's short name, the kind, code, record and
// what happened (every field is in csv/json).
const char* kShortColumns =
    "replace(substr(\"@timestamp\", 1, 19), 'T', ' ') AS time_utc, "
    "lower(CASE WHEN instr(\"host.name\", '.') > 0 THEN substr(\"host.name\", 1, instr(\"host.name\", '.') - 1) "
    "ELSE \"host.name\" END) AS host, \"treeline.document\" AS document, "
    "coalesce(\"event.code\", \"event.action\") AS code, \"winlog.record_id\" AS record, "
    "coalesce(\"process.command_line\", \"message\") AS summary";
const char* kAllColumns =
    "\"treeline.document\", \"@timestamp\", \"event.kind\", \"event.code\", \"event.provider\", \"event.action\", "
    "\"winlog.channel\", \"winlog.record_id\", \"winlog.computer_name\", \"winlog.event_id\", \"winlog.provider_name\", "
    "\"winlog.version\", \"winlog.process.pid\", \"host.name\", \"message\", \"process.entity_id\", \"process.pid\", "
    "\"process.executable\", \"process.name\", \"process.command_line\", \"process.parent.entity_id\", "
    "\"process.parent.pid\", \"process.parent.executable\", \"process.parent.name\", \"process.start\", \"process.end\", "
    "\"user.name\", \"user.domain\", \"winlog.logon.id\", \"rule.id\", \"rule.name\", \"threat.technique.id\", \"log.id\", "
    "\"treeline.severity\", \"treeline.link_method\", \"treeline.link_confidence\", \"treeline.record_id\", \"_data\" AS \"winlog.event_data\"";

std::string statement(const Translation& t, bool all_columns) {
  return fmt::format("SELECT {} FROM ecs WHERE {} ORDER BY \"_time_ft\", \"treeline.document\", \"_key\"",
                     all_columns ? kAllColumns : kShortColumns, t.where);
}

}  // namespace

Expected<Translation> translate(std::string_view expression) { return Parser(expression).run(); }

std::string explain(const Translation& t, bool all_columns) {
  std::string sql = statement(t, all_columns), out;
  size_t next = 0;
  for (char c : sql) {
    if (c != '?' || next >= t.params.size()) {
      out += c;
      continue;
    }
    const Cell& p = t.params[next++];
    if (auto* d = std::get_if<double>(&p)) out += fmt::format("{}", *d);
    else if (auto* s = std::get_if<std::string>(&p)) {
      out += '\'';
      for (char ch : *s) out += ch == '\'' ? std::string("''") : std::string(1, ch);
      out += '\'';
    }
  }
  return out;
}

Expected<QueryResult> run(store::Db& db, std::string_view expression, bool all_columns) {
  auto t = translate(expression);
  if (!t) return t.error();
  auto table = store::run_query(db, statement(*t, all_columns), t->params);
  if (!table) return table.error();
  return QueryResult{std::move(*table), std::move(t->warnings)};
}

}  // namespace treeline::report::kql
