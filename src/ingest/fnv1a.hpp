#pragma once
// FNV-1a, 64 bits: a fast hash of bytes that never changes between builds. It keys the template
// cache, and it names the records of an export that carries no record id, ids a case keeps.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace treeline::ingest {

inline uint64_t fnv1a(const uint8_t* p, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

inline uint64_t fnv1a(std::string_view s) { return fnv1a(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

}  // namespace treeline::ingest
