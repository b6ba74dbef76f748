#include "ingest/inputs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>

#include "ingest/evtx_libevtx.hpp"
#include "ingest/ingester.hpp"

namespace fs = std::filesystem;

namespace treeline::ingest {

bool looks_like_log(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  static const std::set<std::string> kExts = {".evtx", ".json", ".jsonl", ".ndjson", ".xml", ".zip", ".gz", ".tgz", ".tar"};
  return kExts.count(ext) > 0 || has_evtx_signature(p.string());
}

Kind sniff(std::string_view head) {
  if (head.size() >= 8 && head.substr(0, 8) == std::string_view("ElfFile\0", 8)) return Kind::kEvtx;
  if (head.substr(0, 3) == "\xEF\xBB\xBF") head.remove_prefix(3);  // UTF-8 byte order mark
  size_t i = head.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos) return Kind::kUnknown;
  if (head[i] == '{' || head[i] == '[') return Kind::kJson;
  if (head[i] == '<') return Kind::kXml;
  // evtxexport starts its XML with a banner line.
  if (head.find("<Event") != std::string_view::npos) return Kind::kXml;
  return Kind::kUnknown;
}

const char* kind_name(Kind k) { return k == Kind::kJson ? "json" : k == Kind::kXml ? "xml" : "evtx"; }

Expected<std::vector<InputFile>> expand_inputs(const std::vector<std::string>& paths, size_t* ignored) {
  std::vector<InputFile> out;
  for (const auto& p : paths) {
    std::error_code ec;
    fs::file_status st = fs::status(p, ec);
    if (ec || !fs::exists(st)) return Error{ErrorCode::kIo, fmt::format("{}: no such file or directory", p)};
    if (!fs::is_directory(st)) {
      out.push_back({p, false});
      continue;
    }
    std::vector<InputFile> found;
    fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec), end;
    if (ec) return Error{ErrorCode::kIo, fmt::format("{}: cannot list directory: {}", p, ec.message())};
    for (; it != end; it.increment(ec)) {
      if (ec) return Error{ErrorCode::kIo, fmt::format("{}: cannot list directory: {}", p, ec.message())};
      if (!it->is_regular_file(ec)) continue;
      if (looks_like_log(it->path())) found.push_back({it->path().string(), true});
      else if (ignored) ++*ignored;
    }
    if (found.empty())
      return Error{ErrorCode::kBadInput, fmt::format("{}: no event logs (.evtx, .json, .xml, .zip) found in this directory", p)};
    std::sort(found.begin(), found.end(), [](const InputFile& x, const InputFile& y) { return x.path < y.path; });
    out.insert(out.end(), found.begin(), found.end());
  }
  // The same file named twice (or inside two named directories) is read once.
  std::vector<InputFile> unique;
  for (auto& f : out) {
    std::error_code ec;
    std::string canon = fs::weakly_canonical(f.path, ec).string();
    if (ec) canon = f.path;
    auto same = std::find_if(unique.begin(), unique.end(), [&](const InputFile& u) { return u.path == canon; });
    if (same == unique.end()) unique.push_back({canon, f.walked});
    else same->walked = same->walked && f.walked;  // named once: it is the analyst's
  }
  return unique;
}

}  // namespace treeline::ingest
