#include "ingest/archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <memory>

namespace treeline::ingest {

bool looks_like_archive(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[262] = {};
  in.read(head, sizeof head);
  auto n = in.gcount();
  if (n >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) return true;
  if (n >= 2 && static_cast<unsigned char>(head[0]) == 0x1f && static_cast<unsigned char>(head[1]) == 0x8b) return true;
  return n >= 262 && std::memcmp(head + 257, "ustar", 5) == 0;
}

Expected<size_t> Member::read(char* buf, size_t n) {
  la_ssize_t got = archive_read_data(a_, buf, n);
  if (got < 0)
    return Error{ErrorCode::kBadInput, fmt::format("{}!{}: damaged member at byte {}: {}", container_, name_, offset_,
                                                   archive_error_string(a_))};
  offset_ += static_cast<uint64_t>(got);
  return static_cast<size_t>(got);
}

Status for_each_member(const std::string& path, const MemberFn& fn) {
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(), &archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_all(a.get());
  // A bare .gz holds one stream, no archive: the raw format hands it over as one member.
  archive_read_support_format_raw(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    return Error{ErrorCode::kBadInput, fmt::format("{}: cannot open as an archive: {}", path, archive_error_string(a.get()))};
  struct archive_entry* entry = nullptr;
  int rc;
  std::string base = path.substr(path.find_last_of('/') + 1);
  while ((rc = archive_read_next_header(a.get(), &entry)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    if (archive_entry_filetype(entry) != AE_IFREG && archive_format(a.get()) != ARCHIVE_FORMAT_RAW) continue;
    std::string name = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    if (archive_format(a.get()) == ARCHIVE_FORMAT_RAW || name.empty() || name == "data")
      name = base.size() > 3 && base.compare(base.size() - 3, 3, ".gz") == 0 ? base.substr(0, base.size() - 3) : base;
    std::optional<uint64_t> size;
    if (archive_format(a.get()) != ARCHIVE_FORMAT_RAW && archive_entry_size_is_set(entry) && archive_entry_size(entry) >= 0)
      size = static_cast<uint64_t>(archive_entry_size(entry));
    Member member(a.get(), path, name, size);
    if (auto s = fn(member); !s) return s;
  }
  if (rc != ARCHIVE_EOF)
    return Error{ErrorCode::kBadInput, fmt::format("{}: damaged archive: {}", path, archive_error_string(a.get()))};
  return ok_status();
}

}  // namespace treeline::ingest
