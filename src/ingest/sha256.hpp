#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/expected.hpp"

struct evp_md_ctx_st;

namespace treeline::ingest {

// SHA-256 over bytes that arrive in pieces (an archive member as it streams), through OpenSSL.
class Sha256 {
 public:
  // Fails only with a broken OpenSSL installation; the error says so.
  static Expected<Sha256> create();
  void update(const void* data, size_t size);
  std::string hex();  // lower-case hex; ends the hash

 private:
  explicit Sha256(evp_md_ctx_st* ctx);
  std::unique_ptr<evp_md_ctx_st, void (*)(evp_md_ctx_st*)> ctx_;
};

// Lower-case hex SHA-256 of a file's bytes.
Expected<std::string> sha256_file(const std::string& path);
Expected<std::string> sha256_bytes(std::string_view bytes);

}  // namespace treeline::ingest
