#include "report/format.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace treeline::report {

std::optional<Format> parse_format(std::string_view name) {
  if (name == "table") return Format::kTable;
  if (name == "csv") return Format::kCsv;
  if (name == "json") return Format::kJson;
  return std::nullopt;
}

std::string cell_text(const Cell& c) {
  if (auto* i = std::get_if<int64_t>(&c)) return fmt::format("{}", *i);
  if (auto* d = std::get_if<double>(&c)) return fmt::format("{}", *d);
  if (auto* s = std::get_if<std::string>(&c)) return *s;
  return {};
}

size_t display_width(std::string_view s) {
  size_t w = 0;
  for (unsigned char ch : s)
    if ((ch & 0xc0) != 0x80) ++w;
  return w;
}

namespace {

// Cuts to `width` columns on a code point boundary, marking the cut with "…".
std::string cut(std::string_view s, size_t width) {
  if (width == 0 || display_width(s) <= width) return std::string(s);
  size_t cols = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80) {
      if (cols + 1 == width) break;
      ++cols;
    }
  }
  return std::string(s.substr(0, i)) + "…";
}

// Control characters would break the table's lines.
std::string flatten(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return s;
}

bool is_formula_start(const std::string& s) {
  if (s.empty()) return false;
  char c = s[0];
  if (c == '=' || c == '+' || c == '@' || c == '\t' || c == '\r') return true;
  return c == '-' && s.size() > 1;
}

}  // namespace

std::string csv_field(const Cell& cell) {
  std::string s = cell_text(cell);
  if (std::holds_alternative<std::string>(cell) && is_formula_start(s)) s.insert(s.begin(), '\'');
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  q += '"';
  return q;
}

void write_table(std::ostream& out, const Table& t, Format format, const TableStyle& style) {
  switch (format) {
    case Format::kCsv: {
      for (size_t i = 0; i < t.columns.size(); ++i) out << (i ? "," : "") << csv_field(Cell{t.columns[i]});
      out << "\r\n";
      for (const auto& row : t.rows) {
        for (size_t i = 0; i < row.size(); ++i) out << (i ? "," : "") << csv_field(row[i]);
        out << "\r\n";
      }
      return;
    }
    case Format::kJson: {
      nlohmann::ordered_json arr = nlohmann::ordered_json::array();
      for (const auto& row : t.rows) {
        nlohmann::ordered_json o = nlohmann::ordered_json::object();
        for (size_t i = 0; i < row.size() && i < t.columns.size(); ++i) {
          const Cell& c = row[i];
          if (auto* n = std::get_if<int64_t>(&c)) o[t.columns[i]] = *n;
          else if (auto* d = std::get_if<double>(&c)) o[t.columns[i]] = *d;
          else if (auto* s = std::get_if<std::string>(&c)) o[t.columns[i]] = *s;
          else o[t.columns[i]] = nullptr;
        }
        arr.push_back(std::move(o));
      }
      // Invalid UTF-8 in evidence is replaced, not fatal.
      out << arr.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      return;
    }
    case Format::kTable: {
      std::vector<std::vector<std::string>> cells;
      std::vector<size_t> width(t.columns.size());
      for (size_t i = 0; i < t.columns.size(); ++i) width[i] = display_width(t.columns[i]);
      std::vector<bool> numeric(t.columns.size(), !t.rows.empty());
      for (const auto& row : t.rows) {
        auto& line = cells.emplace_back();
        for (size_t i = 0; i < row.size(); ++i) {
          line.push_back(cut(flatten(cell_text(row[i])), style.max_cell_width));
          width[i] = std::max(width[i], display_width(line.back()));
          if (!std::holds_alternative<int64_t>(row[i]) && !std::holds_alternative<double>(row[i]) &&
              !std::holds_alternative<std::monostate>(row[i]))
            numeric[i] = false;
        }
      }
      auto emit = [&](const std::vector<std::string>& line) {
        std::string s;
        for (size_t i = 0; i < line.size(); ++i) {
          size_t pad = width[i] - display_width(line[i]);
          if (i) s += "  ";
          if (numeric[i]) s += std::string(pad, ' ') + line[i];
          else s += line[i] + (i + 1 < line.size() ? std::string(pad, ' ') : "");
        }
        while (!s.empty() && s.back() == ' ') s.pop_back();
        out << s << "\n";
      };
      emit(t.columns);
      std::vector<std::string> rule;
      for (size_t w : width) rule.push_back(std::string(w, '-'));
      emit(rule);
      for (const auto& line : cells) emit(line);
      return;
    }
  }
}

}  // namespace treeline::report
