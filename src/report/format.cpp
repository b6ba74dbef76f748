#include "report/format.hpp"

#include <fmt/format.h>

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/text.hpp"

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

namespace {

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

namespace {

bool needs_quotes(std::string_view s) {
  for (char c : s)
    if (c == ',' || c == '"' || c == '\r' || c == '\n') return true;
  return false;
}

// Appends the field to `line` without building it on its own first: the timeline writes a
// million rows of nineteen fields.
void append_csv_field(std::string& line, const Cell& cell) {
  if (auto* i = std::get_if<int64_t>(&cell)) {
    char buf[24];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, *i);
    line.append(buf, p);
    return;
  }
  auto* text = std::get_if<std::string>(&cell);
  std::string other = text ? std::string() : cell_text(cell);
  std::string_view s = text ? std::string_view(*text) : std::string_view(other);
  bool inert = text && is_formula_start(*text);
  if (!needs_quotes(s)) {
    if (inert) line += '\'';
    line += s;
    return;
  }
  line += '"';
  if (inert) line += '\'';
  for (char c : s) {
    if (c == '"') line += '"';
    line += c;
  }
  line += '"';
}

}  // namespace

std::string csv_field(const Cell& cell) {
  std::string s;
  append_csv_field(s, cell);
  return s;
}

size_t terminal_width() {
  if (const char* c = std::getenv("COLUMNS"); c && *c) {
    size_t w = 0;
    auto [p, ec] = std::from_chars(c, c + std::strlen(c), w);
    if (ec == std::errc() && *p == '\0' && w >= 20) return w;
  }
  struct winsize ws {};
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
  return 0;
}

std::vector<size_t> fit_widths(std::vector<size_t> width, const std::vector<size_t>& minimum, size_t total) {
  if (total == 0 || width.empty()) return width;
  size_t used = 2 * (width.size() - 1);
  for (size_t w : width) used += w;
  // No column shrinks below its header or 13 columns: a severity ("informational"), a PID or a
  // short host name stays whole, and the long free-text columns give the room.
  auto floor_of = [&](size_t i) { return std::min(width[i], std::max<size_t>(minimum[i], 13)); };
  // Shrink the widest column to the next widest (or just enough), until the table fits or no
  // column can give more.
  while (used > total) {
    size_t widest = width.size();
    for (size_t i = 0; i < width.size(); ++i)
      if (width[i] > floor_of(i) && (widest == width.size() || width[i] > width[widest])) widest = i;
    if (widest == width.size()) break;
    size_t next = 0;
    for (size_t i = 0; i < width.size(); ++i)
      if (width[i] < width[widest]) next = std::max(next, width[i]);
    size_t target = std::max({floor_of(widest), next, width[widest] - std::min(width[widest], used - total)});
    if (target >= width[widest]) target = width[widest] - 1;
    used -= width[widest] - target;
    width[widest] = target;
  }
  return width;
}

namespace {

void write_aligned(std::ostream& out, const Table& t, const TableStyle& style) {
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> width(t.columns.size()), header(t.columns.size());
  for (size_t i = 0; i < t.columns.size(); ++i) header[i] = width[i] = display_width(t.columns[i]);
  std::vector<bool> numeric(t.columns.size(), !t.rows.empty()), times(t.columns.size(), !t.rows.empty());
  // An ISO 8601 time ("2024-01-01T10:00:00...", or with a space for the T as a table shows it).
  auto is_time = [](const std::string& v) {
    return v.empty() || (v.size() >= 19 && v[4] == '-' && v[7] == '-' && (v[10] == 'T' || v[10] == ' ') && v[13] == ':');
  };
  for (const auto& row : t.rows) {
    auto& line = cells.emplace_back();
    for (size_t i = 0; i < row.size() && i < t.columns.size(); ++i) {
      line.push_back(cut_middle(flatten(cell_text(row[i])), style.max_cell_width));
      width[i] = std::max(width[i], display_width(line.back()));
      if (!std::holds_alternative<int64_t>(row[i]) && !std::holds_alternative<double>(row[i]) &&
          !std::holds_alternative<std::monostate>(row[i]))
        numeric[i] = false;
      if (times[i] && !is_time(line.back())) times[i] = false;
    }
  }
  // Numbers and times are kept whole: half a PID or a time cut in the middle misleads. The other
  // columns shrink to fit.
  std::vector<size_t> minimum = header;
  for (size_t i = 0; i < minimum.size(); ++i) {
    if (numeric[i] || times[i]) minimum[i] = width[i];
    for (const auto& [name, keep] : style.keep_width)
      if (name == t.columns[i]) minimum[i] = std::max(minimum[i], std::min(keep, width[i]));
  }
  auto fitted = fit_widths(width, minimum, style.total_width);
  auto emit = [&](const std::vector<std::string>& line) {
    std::string s;
    for (size_t i = 0; i < line.size(); ++i) {
      std::string c = cut_middle(line[i], fitted[i]);
      size_t pad = fitted[i] - std::min(fitted[i], display_width(c));
      if (i) s += "  ";
      if (numeric[i]) s += std::string(pad, ' ') + c;
      else s += c + (i + 1 < line.size() ? std::string(pad, ' ') : "");
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << "\n";
  };
  emit(t.columns);
  std::vector<std::string> rule;
  for (size_t w : fitted) rule.push_back(std::string(w, '-'));
  emit(rule);
  for (const auto& line : cells) emit(line);
}

void append_csv_row(std::string& line, const std::vector<Cell>& row) {
  for (size_t i = 0; i < row.size(); ++i) {
    if (i) line += ',';
    append_csv_field(line, row[i]);
  }
  line += "\r\n";
}

void write_csv_row(std::ostream& out, const std::vector<Cell>& row) {
  thread_local std::string line;
  line.clear();
  append_csv_row(line, row);
  out.write(line.data(), static_cast<std::streamsize>(line.size()));
}

std::string json_row(const std::vector<std::string>& columns, const std::vector<Cell>& row) {
  nlohmann::ordered_json o = nlohmann::ordered_json::object();
  for (size_t i = 0; i < row.size() && i < columns.size(); ++i) {
    const Cell& c = row[i];
    if (auto* n = std::get_if<int64_t>(&c)) o[columns[i]] = *n;
    else if (auto* d = std::get_if<double>(&c)) o[columns[i]] = *d;
    else if (auto* s = std::get_if<std::string>(&c)) o[columns[i]] = *s;
    else o[columns[i]] = nullptr;
  }
  // Invalid UTF-8 in evidence is replaced, not fatal.
  return o.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

constexpr std::string_view kJsonFirst = "[\n  ", kJsonNext = ",\n  ";

}  // namespace

void append_row(std::string& out, Format format, const std::vector<std::string>& columns,
                const std::vector<Cell>& row) {
  if (format == Format::kCsv) {
    append_csv_row(out, row);
  } else {
    out += kJsonNext;
    out += json_row(columns, row);
  }
}

void RowWriter::formatted(std::string_view text, size_t rows) {
  if (text.empty()) return;
  if (format_ == Format::kJson && rows_ == 0) {
    out_ << kJsonFirst;
    text.remove_prefix(kJsonNext.size());
  }
  out_.write(text.data(), static_cast<std::streamsize>(text.size()));
  rows_ += rows;
}

RowWriter::RowWriter(std::ostream& out, std::vector<std::string> columns, Format format, TableStyle style)
    : out_(out), columns_(std::move(columns)), format_(format), style_(style) {
  if (format_ == Format::kCsv) write_csv_row(out_, std::vector<Cell>(columns_.begin(), columns_.end()));
  if (format_ == Format::kTable) held_.columns = columns_;
}

void RowWriter::row(const std::vector<Cell>& cells) {
  switch (format_) {
    case Format::kCsv: write_csv_row(out_, cells); break;
    case Format::kJson: out_ << (rows_ ? kJsonNext : kJsonFirst) << json_row(columns_, cells); break;
    case Format::kTable: held_.rows.push_back(cells); break;
  }
  ++rows_;
}

void RowWriter::finish() {
  if (finished_) return;
  finished_ = true;
  if (format_ == Format::kJson) out_ << (rows_ ? "\n]\n" : "[]\n");
  if (format_ == Format::kTable) write_aligned(out_, held_, style_);
}

void write_table(std::ostream& out, const Table& t, Format format, const TableStyle& style) {
  RowWriter w(out, t.columns, format, style);
  for (const auto& row : t.rows) w.row(row);
  w.finish();
}

}  // namespace treeline::report
