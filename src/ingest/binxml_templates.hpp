#pragma once
// Compiled BinXML templates: what each piece of a template feeds, and the process-wide cache of
// compiled definitions, by GUID, size and content hash (and by GUID prefix, for carving).
// Internal to binxml.cpp.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace treeline::ingest::evtx {

// What a piece of template content feeds.
enum class Field : uint8_t { kEventId, kVersion, kProvider, kChannel, kComputer, kTime, kRecordId, kExecutionPid, kData, kNested };

struct Slot {
  Field field;
  std::string name;     // EventData name for kData
  bool is_sub = false;  // a substitution (else `literal`)
  bool optional = false;  // an optional substitution: a NULL value removes the element
  uint16_t sub = 0;
  uint8_t type = 0;
  std::string literal;

  bool operator==(const Slot&) const = default;
};

struct Compiled {
  std::vector<Slot> slots;
  uint32_t template_id = 0;  // the first four bytes of its GUID, by which instances name it
};

// Template definitions compiled once for all chunks (and files read by this process).
class TemplateCache {
 public:
  std::shared_ptr<const Compiled> find(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    return it == cache_.end() ? nullptr : it->second;
  }
  std::shared_ptr<const Compiled> put(const std::string& key, std::shared_ptr<const Compiled> c, size_t context) {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, fresh] = cache_.emplace(key, std::move(c));
    if (fresh) by_id_[{it->second->template_id, context}].push_back(it->second);
    return it->second;
  }
  // The templates compiled so far whose GUID starts with `id`, in the context of that depth.
  std::vector<std::shared_ptr<const Compiled>> with_id(uint32_t id, size_t context) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_id_.find({id, context});
    return it == by_id_.end() ? std::vector<std::shared_ptr<const Compiled>>{} : it->second;
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const Compiled>> cache_;
  std::map<std::pair<uint32_t, size_t>, std::vector<std::shared_ptr<const Compiled>>> by_id_;
};

// The one cache of this process.
TemplateCache& template_cache();

// Whether a value of type `value` may fill a substitution declared `declared`.
bool compatible(uint8_t declared, uint8_t value);

// Offset, size and type of each substitution value of a template instance.
using ValueList = std::vector<std::pair<size_t, std::pair<uint16_t, uint8_t>>>;

// The one template compiled from a live record whose GUID starts with `id` and whose
// substitutions the values fill exactly; throws Malformed when none or several do.
std::shared_ptr<const Compiled> template_with_id(uint32_t id, size_t context, const ValueList& values);


}  // namespace treeline::ingest::evtx
