#pragma once
// The values of a JSON text read from a stream, one at a time: each top-level value, and each
// element of a top-level array, as text for nlohmann/json to parse. Only brackets, strings and
// escapes are followed here (never the values' contents), so memory holds one value and one
// block, whatever the export's size. Internal to the JSON reader.
#include <cstddef>
#include <istream>
#include <string>
#include <string_view>

namespace treeline::ingest {

class JsonValues {
 public:
  // `prefix`: text already taken from the front of `in`.
  JsonValues(std::istream& in, std::string prefix) : in_(in), buf_(std::move(prefix)) {}

  enum class Next { kValue, kEnd, kCut };
  // The next value: its text, whether it is an element of a top-level array, and its number
  // there (elements and documents count from 1). kCut: the text ends inside a value.
  Next next(std::string_view* text, bool* element, size_t* number);
  // Where the value last returned (or the cut one) starts, in bytes from the start of the text.
  size_t offset() const { return consumed_ + start_; }

 private:
  bool fill();
  void compact();

  std::istream& in_;
  std::string buf_;
  size_t pos_ = 0;        // scanning position in buf_
  size_t start_ = 0;      // start of the current value in buf_
  size_t consumed_ = 0;   // bytes dropped before buf_[0]
  bool in_array_ = false;  // inside a top-level array
  size_t elements_ = 0, documents_ = 0;
  bool eof_ = false;
};

}  // namespace treeline::ingest
