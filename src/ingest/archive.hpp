#pragma once
// Reads .zip, .gz, .tar(.gz) in place through libarchive, member by member, into memory: a
// triage collection is never unpacked to disk.
#include <functional>
#include <string>

#include "core/expected.hpp"

namespace treeline::ingest {

// True for the magic bytes of zip ("PK\3\4"), gzip (1f 8b) and tar ("ustar" at 257).
bool looks_like_archive(const std::string& path);

using MemberFn = std::function<Status(const std::string& member, std::string&& bytes)>;

// Calls `fn` for every regular member. A plain .gz is one member named after the file.
Status for_each_member(const std::string& path, const MemberFn& fn);

}  // namespace treeline::ingest
