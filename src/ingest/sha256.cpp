#include "ingest/sha256.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace treeline::ingest {

Sha256::Sha256(evp_md_ctx_st* ctx) : ctx_(ctx, &EVP_MD_CTX_free) {}

Expected<Sha256> Sha256::create() {
  Sha256 sha(EVP_MD_CTX_new());
  if (!sha.ctx_ || EVP_DigestInit_ex(sha.ctx_.get(), EVP_sha256(), nullptr) != 1)
    return Error{ErrorCode::kInternal, "OpenSSL's SHA-256 is unavailable (a broken libssl installation)"};
  return sha;
}

void Sha256::update(const void* data, size_t size) { EVP_DigestUpdate(ctx_.get(), data, size); }

std::string Sha256::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_.get(), md, &len);
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) out += fmt::format("{:02x}", md[i]);
  return out;
}

Expected<std::string> sha256_file(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return Error{ErrorCode::kIo, fmt::format("{}: cannot read: {}", path, std::strerror(errno))};
  auto sha = Sha256::create();
  if (!sha) return sha.error();
  std::vector<unsigned char> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) sha->update(buf.data(), n);
  if (std::ferror(f.get())) return Error{ErrorCode::kIo, fmt::format("{}: read error", path)};
  return sha->hex();
}

Expected<std::string> sha256_bytes(std::string_view bytes) {
  auto sha = Sha256::create();
  if (!sha) return sha.error();
  sha->update(bytes.data(), bytes.size());
  return sha->hex();
}

}  // namespace treeline::ingest
