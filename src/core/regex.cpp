#include "core/regex.hpp"

#include <fmt/format.h>
#include <re2/re2.h>

namespace treeline {

Expected<Regex> Regex::compile(std::string_view pattern, Options options) {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_case_sensitive(!options.case_insensitive);
  o.set_never_nl(false);
  o.set_dot_nl(options.dot_all);
  o.set_posix_syntax(false);
  o.set_longest_match(false);
  std::string p(pattern);
  if (options.multi_line) p = "(?m)" + p;
  auto re = std::make_shared<const RE2>(p, o);
  if (!re->ok()) return Error{ErrorCode::kUsage, fmt::format("bad regular expression '{}': {}", pattern, re->error())};
  Regex r;
  r.re_ = std::move(re);
  r.pattern_ = std::string(pattern);
  return r;
}

bool Regex::search(std::string_view text) const {
  return re_ && RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

std::optional<Regex::Match> Regex::find(std::string_view text) const {
  if (!re_) return std::nullopt;
  re2::StringPiece groups[2];
  int n = re_->NumberOfCapturingGroups() >= 1 ? 2 : 1;
  if (!re_->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), RE2::UNANCHORED, groups, n))
    return std::nullopt;
  Match m;
  m.whole = std::string_view(groups[0].data(), groups[0].size());
  if (n == 2 && groups[1].data()) m.group1 = std::string_view(groups[1].data(), groups[1].size());
  return m;
}

std::string Regex::quote(std::string_view text) {
  return RE2::QuoteMeta(re2::StringPiece(text.data(), text.size()));
}

}  // namespace treeline
