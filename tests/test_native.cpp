// The native EVTX reader against libevtx, record by record: every record both read must give
// the same typed row.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "core/vocabulary.hpp"
#include "ingest/evtx_libevtx.hpp"
#include "ingest/evtx_native.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace treeline;

namespace {

struct Row {
  std::string header;
  TypedRow typed;
};

std::string describe(const TypedValue& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* s = std::get_if<std::string>(&v)) return "'" + *s + "'";
  return "NULL";
}

using Rows = std::map<std::pair<uint64_t, int64_t>, Row>;

Rows read_with(const std::string& path, bool native, bool* ok) {
  Rows rows;
  auto on_record = [&](EventRecord& r) {
    if (r.recovered) return ok_status();  // libevtx's recovery is its own; compare the log's records
    Row row;
    row.header = fmt::format("id {} ch {} prov {} host {} ver {}", r.event_id, r.spec ? std::string(r.spec->channel) : r.channel,
                             r.provider, r.computer, r.version);
    // The writer's process: libevtx's reader renders it for the PowerShell logs (its XML), the
    // native reader for every record.
    if (is_powershell_channel(r.channel)) row.header += fmt::format(" pid {}", r.execution_pid ? int64_t{*r.execution_pid} : -1);
    if (r.spec) row.typed = type_fields(r);
    rows.emplace(std::make_pair(r.record_id, r.time), std::move(row));
    return ok_status();
  };
  auto on_issue = [](const ingest::ReadIssue&) { return ok_status(); };
  // The native side decodes on two threads, as `ingest` does: the pool must deliver the same rows
  // in file order (and, under TREELINE_SANITIZE=thread, without a race).
  ingest::NativeOptions options;
  options.threads = 2;
  Expected<ingest::ReadStats> s = native ? ingest::read_evtx_native(path, on_record, on_issue, options)
                                         : ingest::read_evtx_libevtx(path, on_record, on_issue);
  *ok = s.ok();
  return rows;
}

struct Tally {
  int64_t files = 0, compared = 0, typed = 0, mismatches = 0, only_libevtx = 0, only_native = 0;
  std::vector<std::string> examples;
};

void compare_file(const std::string& path, Tally& t) {
  bool ok_native = false, ok_libevtx = false;
  Rows a = read_with(path, false, &ok_libevtx);
  Rows b = read_with(path, true, &ok_native);
  ++t.files;
  for (const auto& [key, row] : a) {
    auto it = b.find(key);
    if (it == b.end()) {
      ++t.only_libevtx;
      continue;
    }
    ++t.compared;
    if (!row.typed.values.empty()) ++t.typed;
    std::string diff;
    if (row.header != it->second.header) diff = row.header + " vs " + it->second.header;
    else if (row.typed.values.size() != it->second.typed.values.size()) diff = "typed row sizes differ";
    else
      for (size_t i = 0; i < row.typed.values.size() && diff.empty(); ++i)
        if (row.typed.values[i] != it->second.typed.values[i])
          diff = fmt::format("value {}: libevtx {} native {}", i, describe(row.typed.values[i]), describe(it->second.typed.values[i]));
    if (!diff.empty()) {
      ++t.mismatches;
      if (t.examples.size() < 8) t.examples.push_back(fmt::format("{} record {}: {}", path, key.first, diff));
    }
  }
  int64_t native_missing = 0;
  for (const auto& [key, row] : a)
    if (!b.count(key)) ++native_missing;
  if (native_missing > 0 && t.examples.size() < 12)
    t.examples.push_back(fmt::format("{}: {} records read only by libevtx (native ok={})", path, native_missing, ok_native));
  for (const auto& [key, row] : b)
    if (!a.count(key)) ++t.only_native;
}

}  // namespace

TEST_CASE("Native and libevtx readers give identical typed rows on every real log", "[native][differential][real]") {
  Tally t;
  for (const auto& e : fs::recursive_directory_iterator(test::shared_data()))
    if (e.is_regular_file() && e.path().extension() == ".evtx") compare_file(e.path().string(), t);
  for (const auto& e : t.examples) WARN(e);
  WARN(fmt::format("{} files: {} records compared ({} typed), {} mismatches; {} read only by libevtx, {} only by native",
                   t.files, t.compared, t.typed, t.mismatches, t.only_libevtx, t.only_native));
  CHECK(t.compared > 20000);
  CHECK(t.mismatches == 0);
}

TEST_CASE("Native and libevtx readers agree on every generated fixture", "[native][differential][fixtures]") {
  Tally t;
  for (const auto& e : fs::recursive_directory_iterator(TREELINE_FIXTURES_DIR))
    if (e.is_regular_file() && e.path().extension() == ".evtx") compare_file(e.path().string(), t);
  for (const auto& e : t.examples) WARN(e);
  WARN(fmt::format("{} fixture files: {} records compared ({} typed), {} mismatches", t.files, t.compared, t.typed,
                   t.mismatches));
  CHECK(t.compared > 30000);
  CHECK(t.mismatches == 0);
  CHECK(t.only_libevtx == 0);
  CHECK(t.only_native == 0);
}
