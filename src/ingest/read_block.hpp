#pragma once
// Reading an export a block at a time, for the readers that keep one record and one block in
// memory whatever the file's size (XML, JSON documents).
#include <cstddef>
#include <istream>
#include <string>

namespace treeline::ingest {

constexpr size_t kReadBlock = 1 << 20;

// Appends up to one block of `in` to `buf`; false when the stream had nothing more.
inline bool append_block(std::istream& in, std::string& buf) {
  size_t had = buf.size();
  buf.resize(had + kReadBlock);
  in.read(buf.data() + had, static_cast<std::streamsize>(kReadBlock));
  buf.resize(had + static_cast<size_t>(in.gcount()));
  return in.gcount() > 0;
}

}  // namespace treeline::ingest
