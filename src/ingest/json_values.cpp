#include "ingest/json_values.hpp"

#include "ingest/read_block.hpp"

namespace treeline::ingest {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

bool JsonValues::fill() {
  if (!eof_ && !append_block(in_, buf_)) eof_ = true;
  return !eof_;
}

// Forgets what lies before the current value.
void JsonValues::compact() {
  buf_.erase(0, start_);
  consumed_ += start_;
  pos_ -= start_;
  start_ = 0;
}

JsonValues::Next JsonValues::next(std::string_view* text, bool* element, size_t* number) {
  // Between values: white space, and inside a top-level array its commas and its end.
  for (;;) {
    while (pos_ < buf_.size() && (is_space(buf_[pos_]) || (in_array_ && buf_[pos_] == ','))) ++pos_;
    if (pos_ < buf_.size() && in_array_ && buf_[pos_] == ']') {
      in_array_ = false;
      ++pos_;
      continue;
    }
    if (pos_ < buf_.size() && !in_array_ && buf_[pos_] == '[') {
      in_array_ = true;
      ++documents_;
      ++pos_;
      continue;
    }
    if (pos_ < buf_.size()) break;
    start_ = pos_;
    compact();
    if (!fill()) return in_array_ ? Next::kCut : Next::kEnd;
  }
  start_ = pos_;
  // The value: brackets counted outside strings; a scalar ends at white space, ',' or ']'.
  int depth = 0;
  bool in_string = false, escape = false;
  for (;;) {
    if (pos_ >= buf_.size()) {
      compact();
      if (!fill()) {
        // A scalar may end with the text; anything open is cut.
        if (depth == 0 && !in_string && pos_ > start_) break;
        return Next::kCut;
      }
      continue;
    }
    char c = buf_[pos_];
    if (in_string) {
      if (escape) escape = false;
      else if (c == '\\') escape = true;
      else if (c == '"') in_string = false;
      ++pos_;
      if (!in_string && depth == 0) break;  // a top-level string value
      continue;
    }
    if (depth == 0 && pos_ > start_ && (is_space(c) || c == ',' || c == ']')) break;  // a scalar's end
    ++pos_;
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') ++depth;
    else if ((c == '}' || c == ']') && --depth <= 0) break;
  }
  *text = std::string_view(buf_).substr(start_, pos_ - start_);
  *element = in_array_;
  *number = in_array_ ? ++elements_ : ++documents_;
  return Next::kValue;
}

}  // namespace treeline::ingest
