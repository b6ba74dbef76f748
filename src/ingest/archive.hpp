#pragma once
// Reads .zip, .gz, .tar(.gz) in place through libarchive, member by member: a triage
// collection is never unpacked to disk. A member is pulled as a stream, so the caller decides
// what to hold in memory.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "core/expected.hpp"

struct archive;

namespace treeline::ingest {

// True for the magic bytes of zip ("PK\3\4"), gzip (1f 8b) and tar ("ustar" at 257).
bool looks_like_archive(const std::string& path);

// The member being visited. Its bytes can be read once, in order, and only during the visit.
class Member {
 public:
  Member(struct archive* a, std::string container, std::string name, std::optional<uint64_t> size)
      : a_(a), container_(std::move(container)), name_(std::move(name)), size_(size) {}
  const std::string& name() const { return name_; }
  // From the archive's own header; none for a bare .gz, whose size only its end tells.
  std::optional<uint64_t> size() const { return size_; }
  // Up to `n` bytes; 0 at the end. A damaged member is an error naming the container, the
  // member and the offset.
  Expected<size_t> read(char* buf, size_t n);
  uint64_t offset() const { return offset_; }

 private:
  struct archive* a_;
  std::string container_, name_;
  std::optional<uint64_t> size_;
  uint64_t offset_ = 0;
};

using MemberFn = std::function<Status(Member& member)>;

// Calls `fn` for every regular member. A plain .gz is one member named after the file.
Status for_each_member(const std::string& path, const MemberFn& fn);

}  // namespace treeline::ingest
