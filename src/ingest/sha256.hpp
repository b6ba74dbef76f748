#pragma once
#include <string>
#include <string_view>

#include "core/expected.hpp"

namespace treeline::ingest {

// Lower-case hex SHA-256 of a file's bytes, read through OpenSSL.
Expected<std::string> sha256_file(const std::string& path);
std::string sha256_bytes(std::string_view bytes);

}  // namespace treeline::ingest
