#pragma once
// One way to print a Table in each of the CLI's --format choices.
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "core/table.hpp"

namespace treeline::report {

enum class Format { kTable, kCsv, kJson };

std::optional<Format> parse_format(std::string_view name);

struct TableStyle {
  size_t max_cell_width = 80;  // 0: never cut (--full)
};

void write_table(std::ostream& out, const Table& t, Format format, const TableStyle& style = {});

// RFC 4180 field, with text that a spreadsheet would run as a formula (= + - @) made inert by a
// leading apostrophe. A lone "-" (Windows' "no value") and numbers are left alone.
std::string csv_field(const Cell& cell);

std::string cell_text(const Cell& cell);

// Display width of UTF-8 text in terminal columns (one per code point).
size_t display_width(std::string_view utf8);

}  // namespace treeline::report
