#include "ingest/ingester.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "ingest/sha256.hpp"

namespace fs = std::filesystem;

namespace treeline::ingest {
namespace {

constexpr size_t kIssuesInReport = 5;

bool looks_like_log(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".evtx" || has_evtx_signature(p.string());
}

}  // namespace

int64_t IngestReport::records_read() const {
  int64_t n = 0;
  for (const auto& f : files) n += f.totals.read;
  return n;
}
int64_t IngestReport::records_added() const {
  int64_t n = 0;
  for (const auto& f : files) n += f.totals.added;
  return n;
}
int64_t IngestReport::records_skipped() const {
  int64_t n = 0;
  for (const auto& f : files) n += f.totals.skipped;
  return n;
}
size_t IngestReport::files_failed() const {
  return static_cast<size_t>(std::count_if(files.begin(), files.end(), [](const FileReport& f) {
    return f.status == FileReport::Status::kFailed;
  }));
}

Expected<std::vector<std::string>> expand_inputs(const std::vector<std::string>& paths, size_t* ignored) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    fs::file_status st = fs::status(p, ec);
    if (ec || !fs::exists(st)) return Error{ErrorCode::kIo, fmt::format("{}: no such file or directory", p)};
    if (fs::is_directory(st)) {
      std::vector<std::string> found;
      fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec), end;
      if (ec) return Error{ErrorCode::kIo, fmt::format("{}: cannot list directory: {}", p, ec.message())};
      for (; it != end; it.increment(ec)) {
        if (ec) return Error{ErrorCode::kIo, fmt::format("{}: cannot list directory: {}", p, ec.message())};
        if (!it->is_regular_file(ec)) continue;
        if (looks_like_log(it->path())) found.push_back(it->path().string());
        else if (ignored) ++*ignored;
      }
      if (found.empty())
        return Error{ErrorCode::kBadInput, fmt::format("{}: no event logs (.evtx) found in this directory", p)};
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else {
      out.push_back(p);
    }
  }
  // The same file named twice (or inside two named directories) is read once.
  std::vector<std::string> unique;
  for (auto& f : out) {
    std::error_code ec;
    std::string canon = fs::weakly_canonical(f, ec).string();
    if (ec) canon = f;
    if (std::find(unique.begin(), unique.end(), canon) == unique.end()) unique.push_back(canon);
  }
  return unique;
}

Status Ingester::ingest_file(const std::string& path, FileReport& rep, IngestReport& total, Progress& progress,
                             const ProgressFn& progress_fn) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) {
    rep.status = FileReport::Status::kFailed;
    rep.message = fmt::format("{}: cannot read: {}", path, ec.message());
    return ok_status();
  }
  if (size == 0) {
    rep.status = FileReport::Status::kFailed;
    rep.message = fmt::format("{}: empty file", path);
    return ok_status();
  }
  if (!has_evtx_signature(path)) {
    rep.status = FileReport::Status::kFailed;
    rep.message = fmt::format("{}: not an EVTX file (no \"ElfFile\" signature)", path);
    return ok_status();
  }
  auto sha = sha256_file(path);
  if (!sha) {
    rep.status = FileReport::Status::kFailed;
    rep.message = sha.error().message;
    return ok_status();
  }
  auto known = writer_.find_source(*sha);
  if (!known) return known.error();
  if (known->has_value() && (*known)->status == "complete") {
    rep.status = FileReport::Status::kAlreadyInCase;
    rep.message = (*known)->path == path ? "already in the case" : fmt::format("already in the case as {}", (*known)->path);
    return ok_status();
  }

  store::SourceInfo info;
  info.path = path;
  info.size = static_cast<int64_t>(size);
  info.sha256 = *sha;
  info.format = "evtx";
  info.reader = "libevtx";
  if (auto s = writer_.begin_source(info); !s) return s;

  store::SourceTotals& t = rep.totals;
  auto on_issue = [&](const ReadIssue& issue) -> Status {
    ++rep.issue_count;
    // Keep the first lost records for the report; warnings are only counted there.
    if (issue.skipped && rep.issues.size() < kIssuesInReport) rep.issues.push_back(issue);
    return writer_.add_issue(issue.location, issue.skipped ? "skipped" : "warning", issue.reason);
  };
  auto on_record = [&](EventRecord& r) -> Status {
    ++t.read;
    if (r.recovered) ++t.recovered;
    int bad_numbers = 0;
    auto added = writer_.add(r, &bad_numbers);
    if (!added) return added.error();
    if (*added == store::AddResult::kAdded) ++t.added; else ++t.duplicate;
    if (bad_numbers > 0) {
      auto s = on_issue({fmt::format("record {}", r.record_id),
                         fmt::format("event {}: {} numeric field(s) not a number, stored as NULL", r.event_id, bad_numbers),
                         false});
      if (!s) return s;
    }
    auto& c = total.by_event[{r.spec ? std::string(r.spec->channel) : r.channel, r.event_id}];
    ++c.records;
    c.typed = r.spec != nullptr;
    if ((++progress.records & 0xfff) == 0 && progress_fn) progress_fn(progress);
    return ok_status();
  };
  auto read = read_evtx_libevtx(path, on_record, on_issue);
  if (!read) {
    writer_.rollback_source();
    // A database failure (disk full, lock) stops the run; a bad file only fails itself.
    if (read.error().code != ErrorCode::kBadInput) return read.error();
    rep.status = FileReport::Status::kFailed;
    rep.message = read.error().message;
    rep.totals = {};
    return ok_status();
  }
  rep.read = *read;
  t.skipped = read->skipped;
  if (auto s = writer_.commit_source(t, true); !s) {
    writer_.rollback_source();
    return s;
  }
  return ok_status();
}

Expected<IngestReport> Ingester::run(const std::vector<std::string>& paths, const ProgressFn& progress_fn) {
  auto start = std::chrono::steady_clock::now();
  IngestReport report;
  auto files = expand_inputs(paths, &report.ignored_files);
  if (!files) return files.error();
  Progress progress;
  progress.files_total = files->size();
  for (const auto& path : *files) {
    FileReport rep;
    rep.path = path;
    progress.current = path;
    if (progress_fn) progress_fn(progress);
    if (auto s = ingest_file(path, rep, report, progress, progress_fn); !s) return s.error();
    report.files.push_back(std::move(rep));
    ++progress.files_done;
  }
  if (progress_fn) progress_fn(progress);
  report.elapsed = std::chrono::steady_clock::now() - start;
  return report;
}

}  // namespace treeline::ingest
