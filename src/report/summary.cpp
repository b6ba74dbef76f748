#include "report/summary.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <stdexcept>

#include "core/text.hpp"

namespace treeline::summary_files {
const std::vector<std::pair<std::string_view, std::string_view>>& embedded_files();
}

namespace treeline::report {
namespace {

using Key = std::pair<std::string, uint32_t>;

// Looked up by a channel the timeline holds as text already: no string is made per row.
struct KeyLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::pair<std::string_view, uint32_t>(a.first, a.second) <
           std::pair<std::string_view, uint32_t>(b.first, b.second);
  }
};

// summaries/events.tsv: channel, event id, template; '#' starts a comment line. A malformed line
// is a build's mistake, not an analyst's: it fails the first timeline loudly (and the tests).
const std::map<Key, SummaryTemplate, KeyLess>& templates() {
  static const auto all = [] {
    std::map<Key, SummaryTemplate, KeyLess> out;
    for (const auto& [file, text] : summary_files::embedded_files()) {
      size_t start = 0;
      while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(start, end - start);
        start = end + 1;
        if (line.empty() || line[0] == '#') continue;
        size_t a = line.find('\t'), b = a == std::string_view::npos ? a : line.find('\t', a + 1);
        if (b == std::string_view::npos) throw std::logic_error("summaries/" + std::string(file) + ": not 3 columns: " + std::string(line));
        out.emplace(Key{std::string(line.substr(0, a)), static_cast<uint32_t>(std::stoul(std::string(line.substr(a + 1, b - a - 1))))},
                    SummaryTemplate::parse(line.substr(b + 1)));
      }
    }
    return out;
  }();
  return all;
}

// A field's text: a string as it is, an array's items joined, a number or null as JSON writes it.
std::string text_of(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (const auto& item : v) {
      std::string t = text_of(item);
      if (t.empty()) continue;
      out += (out.empty() ? "" : ", ") + t;
    }
    return out;
  }
  return v.is_null() ? std::string() : v.dump();
}

// Runs of white space (a script block's new lines and indents) become one space, so that a
// summary stays one line.
std::string one_line(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

SummaryTemplate SummaryTemplate::parse(std::string_view text) {
  SummaryTemplate t;
  int group = -1;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) t.pieces_.push_back({literal, false, group});
    literal.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '[' && group < 0) {
      flush();
      group = t.groups_++;
    } else if (c == ']' && group >= 0) {
      flush();
      group = -1;
    } else if (c == '{') {
      size_t close = text.find('}', i);
      if (close == std::string_view::npos) throw std::logic_error("summary template without '}': " + std::string(text));
      flush();
      t.pieces_.push_back({std::string(text.substr(i + 1, close - i - 1)), true, group});
      i = close;
    } else {
      literal.push_back(c);
    }
  }
  flush();
  return t;
}

std::string SummaryTemplate::render(std::string_view data_json) const {
  auto data = nlohmann::json::parse(data_json, nullptr, /*allow_exceptions=*/false);
  if (!data.is_object()) return {};
  std::vector<std::string> values(pieces_.size());
  std::vector<bool> dropped(static_cast<size_t>(groups_), false);
  bool any = false;
  for (size_t i = 0; i < pieces_.size(); ++i) {
    const Piece& p = pieces_[i];
    if (!p.field) continue;
    auto it = data.find(p.text);
    values[i] = it == data.end() ? std::string() : one_line(text_of(*it));
    // "-" is how Windows writes a field it has no value for.
    bool empty = values[i].empty() || values[i] == "-";
    if (empty && p.group >= 0) dropped[static_cast<size_t>(p.group)] = true;
    if (!empty) any = true;
  }
  if (!any) return {};
  std::string out;
  for (size_t i = 0; i < pieces_.size(); ++i) {
    const Piece& p = pieces_[i];
    if (p.group >= 0 && dropped[static_cast<size_t>(p.group)]) continue;
    out += p.field ? values[i] : p.text;
  }
  return cut_end(out, kSummaryWidth);
}

const SummaryTemplate* find_summary(std::string_view channel, uint32_t event_id) {
  const auto& all = templates();
  auto it = all.find(std::pair<std::string_view, uint32_t>(channel, event_id));
  return it == all.end() ? nullptr : &it->second;
}

std::vector<uint32_t> summary_event_ids() {
  std::set<uint32_t> ids;
  for (const auto& [key, t] : templates()) ids.insert(key.second);
  return {ids.begin(), ids.end()};
}

}  // namespace treeline::report
