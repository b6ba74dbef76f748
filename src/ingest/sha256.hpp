#pragma once
#include <string>

#include "core/expected.hpp"

namespace treeline::ingest {

// Lower-case hex SHA-256 of a file's bytes, read through OpenSSL.
Expected<std::string> sha256_file(const std::string& path);

}  // namespace treeline::ingest
