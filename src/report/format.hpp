#pragma once
// One way to print rows in each of the CLI's --format choices. Rows stream: CSV and JSON are
// written as they come; only a terminal table waits for all of them, to size its columns.
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/table.hpp"

namespace treeline::report {

enum class Format { kTable, kCsv, kJson };

std::optional<Format> parse_format(std::string_view name);

struct TableStyle {
  size_t max_cell_width = 80;  // no cell is wider than this; 0: never cut (--wide)
  size_t total_width = 0;      // the terminal's width: the widest columns shrink to fit; 0: no limit
  // Columns that keep at least this width (or their widest cell) when the table shrinks: what a
  // reader reads first (a finding's title) before the columns that only add to it.
  std::vector<std::pair<std::string, size_t>> keep_width = {};
};

// The width a table should fit: $COLUMNS, else the terminal on stdout, else 0 (no limit: a pipe
// or a file gets whole lines).
size_t terminal_width();

class RowWriter {
 public:
  RowWriter(std::ostream& out, std::vector<std::string> columns, Format format, TableStyle style = {});
  RowWriter(const RowWriter&) = delete;
  RowWriter& operator=(const RowWriter&) = delete;
  void row(const std::vector<Cell>& cells);
  // Rows that append_row formatted (on another thread, say), in this writer's CSV or JSON format.
  void formatted(std::string_view text, size_t rows);
  // Writes what a table held back and closes a JSON array. Rows written so far are counted.
  void finish();
  size_t rows() const { return rows_; }

 private:
  std::ostream& out_;
  std::vector<std::string> columns_;
  Format format_;
  TableStyle style_;
  size_t rows_ = 0;
  bool finished_ = false;
  Table held_;  // table format only
};

// One CSV or JSON row as RowWriter::formatted takes it (not for tables, which are laid out whole).
void append_row(std::string& out, Format format, const std::vector<std::string>& columns,
                const std::vector<Cell>& row);

void write_table(std::ostream& out, const Table& t, Format format, const TableStyle& style = {});

// RFC 4180 field, with text that a spreadsheet would run as a formula (= + - @) made inert by a
// leading apostrophe. A lone "-" (Windows' "no value") and numbers are left alone.
std::string csv_field(const Cell& cell);

std::string cell_text(const Cell& cell);

// The widths each column gets so that the table fits `total` columns: the widest shrink first,
// none below the width of its header or 13. `natural` are the widest cells.
std::vector<size_t> fit_widths(std::vector<size_t> natural, const std::vector<size_t>& minimum, size_t total);

}  // namespace treeline::report
