#include "ingest/binxml_templates.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <unordered_set>

#include "ingest/binxml.hpp"

namespace treeline::ingest::evtx {

TemplateCache& template_cache() {
  static TemplateCache cache;
  return cache;
}

namespace {
struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
}  // namespace

std::string_view intern_name(std::string_view name) {
  constexpr size_t kMaxNames = 1 << 20;
  static std::mutex mu;
  // A set's nodes stay where they are, so the views handed out stay valid.
  static std::unordered_set<std::string, NameHash, std::equal_to<>> names;
  std::lock_guard lock(mu);
  if (auto it = names.find(name); it != names.end()) return *it;
  if (names.size() >= kMaxNames) malformed(fmt::format("more than {} distinct field names", kMaxNames));
  return *names.emplace(name).first;
}

std::shared_ptr<const Compiled> template_with_id(uint32_t id, size_t context, const ValueList& values) {
  std::shared_ptr<const Compiled> found;
  size_t fitting = 0;
  for (auto& candidate : template_cache().with_id(id, context)) {
    int max_sub = -1;
    bool fits = true;
    for (const Slot& s : candidate->slots) {
      if (!s.is_sub) continue;
      max_sub = std::max(max_sub, static_cast<int>(s.sub));
      if (s.sub >= values.size()) {
        fits = false;
        break;
      }
      uint8_t type = values[s.sub].second.second;
      if (type != 0x00 && !compatible(s.type, type)) fits = false;
    }
    // The same template compiled from another chunk has other name offsets in its bytes, so
    // another cache key, but compiles to the same slots: one template, not two.
    if (fits && static_cast<size_t>(max_sub + 1) == values.size() && !(found && found->slots == candidate->slots)) {
      ++fitting;
      found = candidate;
    }
  }
  if (fitting == 0) malformed(fmt::format("no template a live record used has GUID {:08x}... and these values", id));
  if (fitting > 1) malformed(fmt::format("{} templates with GUID {:08x}... fit these values", fitting, id));
  return found;
}

// Writers put HexInt64 (or HexInt32) values where the manifest declares a pointer-sized SizeT.
bool compatible(uint8_t declared, uint8_t value) {
  if (declared == value) return true;
  return declared == 0x10 && (value == 0x14 || value == 0x15 || value == 0x08 || value == 0x0a);
}

}  // namespace treeline::ingest::evtx
