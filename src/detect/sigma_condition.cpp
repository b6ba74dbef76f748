#include "detect/sigma_condition.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace treeline::detect::sigma {
namespace {

bool glob_match(std::string_view pattern, std::string_view name) {
  // Only `*` is a wildcard in condition patterns.
  size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

class Parser {
 public:
  Parser(std::string_view text, const std::vector<std::string>& names) : names_(names) {
    for (size_t i = 0; i < text.size();) {
      char c = text[i];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
      } else if (c == '(' || c == ')' || c == '|') {
        tokens_.emplace_back(1, c);
        ++i;
      } else {
        size_t j = i;
        while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j])) && text[j] != '(' &&
               text[j] != ')' && text[j] != '|')
          ++j;
        tokens_.emplace_back(text.substr(i, j - i));
        i = j;
      }
    }
  }

  Expected<ConditionNode> parse() {
    if (std::find(tokens_.begin(), tokens_.end(), "|") != tokens_.end())
      return Error{ErrorCode::kBadInput, "an aggregation in the condition (`| count() …`, Sigma 1.0) is not "
                                         "supported: Sigma 2.0 writes it as a correlation rule"};
    auto node = parse_or();
    if (!node) return node;
    if (pos_ < tokens_.size()) return Error{ErrorCode::kBadInput, fmt::format("unexpected '{}' in the condition", tokens_[pos_])};
    return node;
  }

 private:
  bool is(std::string_view word) const {
    if (pos_ >= tokens_.size()) return false;
    const std::string& t = tokens_[pos_];
    return t.size() == word.size() &&
           std::equal(t.begin(), t.end(), word.begin(), [](char a, char b) { return std::tolower(a) == b; });
  }

  Expected<ConditionNode> parse_or() { return parse_binary("or", ConditionNode::Kind::kOr, &Parser::parse_and); }
  Expected<ConditionNode> parse_and() { return parse_binary("and", ConditionNode::Kind::kAnd, &Parser::parse_not); }

  Expected<ConditionNode> parse_binary(std::string_view word, ConditionNode::Kind kind,
                                       Expected<ConditionNode> (Parser::*next)()) {
    auto first = (this->*next)();
    if (!first) return first;
    if (!is(word)) return first;
    ConditionNode node;
    node.kind = kind;
    node.children.push_back(std::move(*first));
    while (is(word)) {
      ++pos_;
      auto more = (this->*next)();
      if (!more) return more;
      node.children.push_back(std::move(*more));
    }
    return node;
  }

  Expected<ConditionNode> parse_not() {
    if (is("not")) {
      ++pos_;
      auto inner = parse_not();
      if (!inner) return inner;
      ConditionNode node;
      node.kind = ConditionNode::Kind::kNot;
      node.children.push_back(std::move(*inner));
      return node;
    }
    return parse_primary();
  }

  Expected<ConditionNode> parse_primary() {
    if (pos_ >= tokens_.size()) return Error{ErrorCode::kBadInput, "the condition ends where a name was expected"};
    if (tokens_[pos_] == "(") {
      ++pos_;
      auto inner = parse_or();
      if (!inner) return inner;
      if (pos_ >= tokens_.size() || tokens_[pos_] != ")") return Error{ErrorCode::kBadInput, "a '(' is never closed"};
      ++pos_;
      return inner;
    }
    if (tokens_[pos_] == ")") return Error{ErrorCode::kBadInput, "a ')' without its '('"};
    if (pos_ + 1 < tokens_.size()) {
      std::string next = tokens_[pos_ + 1];
      std::transform(next.begin(), next.end(), next.begin(), [](unsigned char c) { return std::tolower(c); });
      if (next == "of") return parse_quantifier();
    }
    const std::string& name = tokens_[pos_++];
    auto it = std::find(names_.begin(), names_.end(), name);
    if (it == names_.end()) return Error{ErrorCode::kBadInput, fmt::format("the condition names '{}', which the detection does not define", name)};
    ConditionNode node;
    node.kind = ConditionNode::Kind::kRef;
    node.refs.push_back(static_cast<size_t>(it - names_.begin()));
    return node;
  }

  Expected<ConditionNode> parse_quantifier() {
    ConditionNode node;
    std::string count = tokens_[pos_];
    if (is("all")) {
      node.kind = ConditionNode::Kind::kAll;
    } else if (is("any")) {
      node.kind = ConditionNode::Kind::kAtLeast;
    } else if (!count.empty() && std::all_of(count.begin(), count.end(), [](unsigned char c) { return std::isdigit(c); })) {
      node.kind = ConditionNode::Kind::kAtLeast;
      node.at_least = std::stoul(count);
    } else {
      return Error{ErrorCode::kBadInput, fmt::format("'{} of': expected 1, any, all or a number", count)};
    }
    pos_ += 2;
    if (pos_ >= tokens_.size()) return Error{ErrorCode::kBadInput, fmt::format("'{} of' names nothing", count)};
    const std::string pattern = tokens_[pos_++];
    const bool them = pattern == "them";
    for (size_t i = 0; i < names_.size(); ++i)
      if (them ? names_[i].rfind('_', 0) != 0 : glob_match(pattern, names_[i])) node.refs.push_back(i);
    if (node.refs.empty()) return Error{ErrorCode::kBadInput, fmt::format("'{} of {}' matches no search", count, pattern)};
    return node;
  }

  const std::vector<std::string>& names_;
  std::vector<std::string> tokens_;
  size_t pos_ = 0;
};

}  // namespace

Expected<ConditionNode> parse_condition(std::string_view text, const std::vector<std::string>& names) {
  return Parser(text, names).parse();
}

bool evaluate(const ConditionNode& node, const std::function<bool(size_t)>& search) {
  using K = ConditionNode::Kind;
  switch (node.kind) {
    case K::kRef: return search(node.refs.front());
    case K::kNot: return !evaluate(node.children.front(), search);
    case K::kAnd:
      return std::all_of(node.children.begin(), node.children.end(), [&](const auto& c) { return evaluate(c, search); });
    case K::kOr:
      return std::any_of(node.children.begin(), node.children.end(), [&](const auto& c) { return evaluate(c, search); });
    case K::kAll: return std::all_of(node.refs.begin(), node.refs.end(), search);
    case K::kAtLeast: {
      size_t hits = 0;
      for (size_t r : node.refs)
        if (search(r) && ++hits >= node.at_least) return true;
      return false;
    }
  }
  return false;
}

}  // namespace treeline::detect::sigma
