#pragma once
// A result set as the stages hand it to reporters: named columns, typed cells.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace treeline {

using Cell = std::variant<std::monostate, int64_t, double, std::string>;

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<Cell>> rows;
};

}  // namespace treeline
