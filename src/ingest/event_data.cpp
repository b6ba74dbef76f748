#include "ingest/event_data.hpp"

#include "core/text.hpp"

#include <algorithm>
#include <unordered_map>

namespace treeline::ingest {
namespace {

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0;  // start of the characters not yet copied: runs that need no escape go at once
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

// Most records name each field once: their object is written in one pass, without grouping.
// nullopt when a name repeats (or an unnamed field's Data_N could meet a field of that name).
std::optional<std::string> distinct_names_json(const std::vector<std::string_view>& names,
                                               const std::vector<std::string>& values, size_t n) {
  if (n > 64) return std::nullopt;
  bool unnamed = false, data_like = false;
  size_t bytes = 2;
  for (size_t i = 0; i < n; ++i) {
    if (names[i].empty()) {
      unnamed = true;
    } else {
      if (names[i].substr(0, 5) == "Data_") data_like = true;
      for (size_t k = 0; k < i; ++k)
        if (names[k] == names[i]) return std::nullopt;
    }
    bytes += names[i].size() + values[i].size() + 8;
  }
  if (unnamed && data_like) return std::nullopt;
  std::string out;
  out.reserve(bytes);
  out += '{';
  size_t number = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ',';
    if (names[i].empty()) append_json_string(out, "Data_" + std::to_string(++number));
    else append_json_string(out, names[i]);
    out += ':';
    append_json_string(out, values[i]);
  }
  out += '}';
  return out;
}

}  // namespace

std::optional<std::string> event_data_json(const std::vector<std::string_view>& names,
                                           const std::vector<std::string>& values) {
  size_t n = std::min(names.size(), values.size());
  if (n == 0) return std::nullopt;
  if (auto simple = distinct_names_json(names, values, n)) return simple;
  // Keys in first-seen order, each with the positions of its values. Written by hand rather
  // than through a JSON library: ingest builds one per record.
  std::vector<std::string> keys;
  std::vector<std::vector<size_t>> at;
  std::unordered_map<std::string_view, size_t> index;
  keys.reserve(n);
  at.reserve(n);
  size_t unnamed = 0;
  for (size_t i = 0; i < n; ++i) {
    std::string key = names[i].empty() ? "Data_" + std::to_string(++unnamed) : std::string(names[i]);
    // Most records have a few fields: a scan beats hashing them.
    size_t found = keys.size();
    if (n <= 32) {
      for (size_t k = 0; k < keys.size(); ++k)
        if (keys[k] == key) found = k;
    } else if (auto f = index.find(key); f != index.end()) {
      found = f->second;
    }
    if (found < keys.size()) {
      at[found].push_back(i);
      continue;
    }
    size_t k = keys.size();
    keys.push_back(std::move(key));
    at.push_back({i});
    // Views into `keys` stay valid: it was reserved for every name.
    if (n > 32) index.emplace(std::string_view(keys.back()), k);
  }
  std::string out = "{";
  for (size_t k = 0; k < keys.size(); ++k) {
    if (k) out += ',';
    append_json_string(out, keys[k]);
    out += ':';
    if (at[k].size() == 1) {
      append_json_string(out, values[at[k][0]]);
      continue;
    }
    out += '[';
    for (size_t j = 0; j < at[k].size(); ++j) {
      if (j) out += ',';
      append_json_string(out, values[at[k][j]]);
    }
    out += ']';
  }
  out += '}';
  return out;
}

void take_fields(EventRecord& r, std::vector<std::pair<std::string, std::string>>&& fields) {
  for (auto& [name, value] : fields) {
    r.owned_names.push_back(std::move(name));
    r.values.push_back(std::move(value));
  }
  // Views made after the names moved in: appending may have moved the ones before.
  r.names.assign(r.owned_names.begin(), r.owned_names.end());
}

std::optional<uint32_t> execution_pid_of(std::string_view text) {
  auto v = parse_windows_int(text);
  if (!v || *v < 0 || *v > 0xffffffffLL) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

}  // namespace treeline::ingest
