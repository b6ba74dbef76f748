#include "ingest/ingester.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include <cstring>
#include <fstream>
#include <future>
#include <sstream>

#include "core/interrupt.hpp"
#include "ingest/archive.hpp"
#include "ingest/inputs.hpp"
#include "store/case_db.hpp"
#include "ingest/json_reader.hpp"
#include "ingest/sha256.hpp"
#include "ingest/xml_reader.hpp"

namespace fs = std::filesystem;

namespace treeline::ingest {
namespace {

constexpr size_t kIssuesInReport = 5;

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

Status Ingester::ingest_source(const store::SourceInfo& info, const Reader& read, FileReport& rep, IngestReport& total,
                               Progress& progress, const ProgressFn& progress_fn) {
  rep.reader = info.reader;
  // Whether these bytes are already in the case: asked before reading when the hash is known,
  // after reading when it was computed meanwhile (a file of a size no source has).
  std::optional<int64_t> same_bytes_as;  // the source these bytes already are
  auto already_in_case = [&](const std::string& sha256) -> Expected<bool> {
    auto known = writer_.find_source(sha256);
    if (!known) return known.error();
    // A partial source with events is a file cut short, read as far as it goes: the same bytes
    // give the same records. One without events is a run that was interrupted: read again.
    if (!known->has_value() || ((*known)->status != "complete" && !(*known)->has_events)) return false;
    rep.status = FileReport::Status::kAlreadyInCase;
    same_bytes_as = (*known)->source_id;
    rep.message = (*known)->path == info.path ? "already in the case" : fmt::format("already in the case as {}", (*known)->path);
    return true;
  };
  const bool sha_pending = info.sha256.empty();
  if (!sha_pending) {
    auto known = already_in_case(info.sha256);
    if (!known) return known.error();
    // Not read again, but the chain of custody keeps where the copy was.
    if (*known) return writer_.add_path(*same_bytes_as, info, "same_bytes");
  }
  if (bulk_planned_ && !bulk_dropped_) {
    if (auto s = store::drop_bulk_indexes(db_); !s) return s;
    bulk_dropped_ = true;
  }
  if (auto s = writer_.begin_source(info); !s) return s;
  store::SourceTotals& t = rep.totals;
  // Counted into the report only when the source commits: a read that is rolled back (a copy
  // already in the case, auto's second reading) is not counted twice.
  std::map<std::pair<std::string, uint32_t>, IngestReport::Count> by_event;
  const std::pair<std::string, uint32_t>* last_count_key = nullptr;  // map nodes do not move
  IngestReport::Count* last_count = nullptr;
  auto on_issue = [&](const ReadIssue& issue) -> Status {
    ++rep.issue_count;
    // Keep the first lost records for the report; warnings are only counted there.
    if (issue.skipped && rep.issues.size() < kIssuesInReport) rep.issues.push_back(issue);
    return writer_.add_issue(issue.location, issue.skipped ? "skipped" : "warning", issue.reason);
  };
  auto on_record = [&](EventRecord& r) -> Status {
    if (interrupted())
      return Error{ErrorCode::kInterrupted, fmt::format("{}: interrupted; the file was rolled back", info.path)};
    ++t.read;
    if (r.recovered) ++t.recovered;
    int bad_numbers = 0;
    if (auto s = writer_.add(r, &bad_numbers); !s) return s;
    if (bad_numbers > 0) {
      auto s = on_issue({fmt::format("record {}", r.record_id),
                         fmt::format("event {}: {} numeric field(s) not a number, stored as NULL", r.event_id, bad_numbers),
                         false});
      if (!s) return s;
    }
    // Runs of one event type are the rule: the last count is reused without building a key.
    std::string_view channel = r.spec ? std::string_view(r.spec->channel) : std::string_view(r.channel);
    if (!last_count || r.event_id != last_count_key->second || channel != last_count_key->first) {
      auto it = by_event.try_emplace({std::string(channel), r.event_id}).first;
      last_count_key = &it->first;
      last_count = &it->second;
    }
    ++last_count->records;
    last_count->typed = r.spec != nullptr;
    if ((++progress.records & 0xfff) == 0 && progress_fn) progress_fn(progress);
    return ok_status();
  };
  auto result = read(on_record, on_issue);
  if (!result) {
    writer_.rollback_source();
    // A database failure (disk full, lock) stops the run; a bad file only fails itself.
    if (result.error().code != ErrorCode::kBadInput) return result.error();
    rep.status = FileReport::Status::kFailed;
    rep.message = result.error().message;
    rep.totals = {};
    return ok_status();
  }
  if (info.format != "evtx" && result->normal == 0 && result->skipped > 0) {
    // Not one record was a Windows event: this is some other JSON or XML, not an event export.
    writer_.rollback_source();
    rep.status = FileReport::Status::kFailed;
    rep.not_a_log = true;
    rep.message = fmt::format("{}: no Windows event in this {} file ({} record(s), none of a known shape; first: {})",
                              info.path, info.format, result->skipped,
                              rep.issues.empty() ? "?" : rep.issues.front().location + ": " + rep.issues.front().reason);
    rep.totals = {};
    rep.issues.clear();
    rep.issue_count = 0;
    return ok_status();
  }
  if (sha_pending) {
    const Expected<std::string>& sha = pending_sha256_.get();
    if (!sha) {
      writer_.rollback_source();
      rep.status = FileReport::Status::kFailed;
      rep.message = sha.error().message;
      rep.totals = {};
      return ok_status();
    }
    auto known = already_in_case(*sha);
    if (!known || *known) {
      writer_.rollback_source();
      rep.totals = {};
      rep.issues.clear();
      rep.issue_count = 0;
      if (!known) return known.error();
      store::SourceInfo seen = info;
      if (pending_size_) seen.size = *pending_size_;
      return writer_.add_path(*same_bytes_as, seen, "same_bytes");
    }
    if (auto s = writer_.set_sha256(*sha, pending_size_); !s) {
      writer_.rollback_source();
      return s;
    }
  }
  rep.read = *result;
  t.skipped = result->skipped;
  // A file cut short is kept as far as it goes, marked partial.
  if (auto s = writer_.commit_source(t, !result->truncated); !s) {
    writer_.rollback_source();
    return s;
  }
  t.added = writer_.counts().added;
  t.duplicate = writer_.counts().duplicate;
  for (const auto& [key, count] : by_event) {
    auto& c = total.by_event[key];
    c.records += count.records;
    c.typed = count.typed;
  }
  return ok_status();
}

Status Ingester::ingest_evtx(store::SourceInfo info, const std::string* bytes, const StreamedInput* stream, FileReport& rep,
                             IngestReport& total, Progress& progress, const ProgressFn& progress_fn) {
  const std::string name = info.path;
  Reader native = [&](const RecordFn& on_record, const IssueFn& on_issue) -> Expected<ReadStats> {
    NativeOptions o;
    o.threads = options_.threads;
    // auto also carves the old records left in free space: they are evidence too.
    o.carve = options_.reader == ReaderChoice::kAuto;
    if (stream) {
      auto stats = read_evtx_native_stream(name, stream->read, on_record, on_issue, o);
      stream->done();
      return stats;
    }
    if (bytes)
      return read_evtx_native_memory(name, reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size(), on_record,
                                     on_issue, o);
    return read_evtx_native(name, on_record, on_issue, o);
  };
  Reader libevtx = [&](const RecordFn& on_record, const IssueFn& on_issue) -> Expected<ReadStats> {
    if (bytes) return read_evtx_libevtx_memory(name, *bytes, on_record, on_issue);
    return read_evtx_libevtx(name, on_record, on_issue);
  };
  if (options_.reader == ReaderChoice::kLibevtx) {
    info.reader = "libevtx";
    return ingest_source(info, libevtx, rep, total, progress, progress_fn);
  }
  // auto and native: the native reader, which reads damaged chunks where they parse and (auto)
  // carves free space itself. libevtx is not a fallback: it reads fewer records of a damaged
  // file, drops an incomplete one without a word, and its recovery misattributes fragments.
  info.reader = "native";
  return ingest_source(info, native, rep, total, progress, progress_fn);
}

Status Ingester::ingest_file(const std::string& path, IngestReport& total, Progress& progress,
                             const ProgressFn& progress_fn) {
  FileReport rep;
  rep.path = path;
  auto fail = [&](std::string message, bool not_a_log = false) {
    rep.status = FileReport::Status::kFailed;
    rep.not_a_log = not_a_log;
    rep.message = std::move(message);
    total.files.push_back(std::move(rep));
    return ok_status();
  };
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return fail(fmt::format("{}: cannot read: {}", path, ec.message()));
  // A file named .evtx that is not one is a damaged log, never "some other file".
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  const bool named_evtx = ext == ".evtx";
  if (size == 0) return fail(fmt::format("{}: empty file", path), !named_evtx);
  if (looks_like_archive(path)) {
    size_t before = total.files.size();
    auto s = for_each_member(path, [&](Member& member) { return ingest_member(path, member, total, progress, progress_fn); });
    // A damaged archive fails as a whole only when the database did; its good members stay in.
    if (!s && s.error().code != ErrorCode::kBadInput) return s;
    if (!s) return fail(s.error().message, total.files.size() == before);
    if (total.files.size() == before) return fail(fmt::format("{}: no event logs in this archive", path), true);
    return ok_status();
  }
  std::string head(4096, '\0');
  {
    std::ifstream in(path, std::ios::binary);
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<size_t>(in.gcount()));
  }
  Kind kind = sniff(head);
  if (kind == Kind::kUnknown)
    return fail(fmt::format("{}: not an EVTX, JSON or XML event log (no \"ElfFile\" signature, no JSON or XML)", path), !named_evtx);
  store::SourceInfo info;
  info.path = path;
  info.size = static_cast<int64_t>(size);
  auto size_known = writer_.has_source_of_size(info.size);
  if (!size_known) return size_known.error();
  if (*size_known) {
    // Maybe a copy of a source the case has: hash first, and skip it without reading if so.
    auto sha = sha256_file(path);
    if (!sha) return fail(sha.error().message);
    info.sha256 = *sha;
  } else {
    // No source has this size, so these bytes are new: hash on another core while reading.
    pending_sha256_ = std::async(std::launch::async, [path] { return sha256_file(path); }).share();
  }
  info.format = kind_name(kind);
  info.reader = kind == Kind::kEvtx ? "libevtx" : info.format;
  if (kind == Kind::kEvtx) {
    if (auto s = ingest_evtx(info, nullptr, nullptr, rep, total, progress, progress_fn); !s) return s;
    total.files.push_back(std::move(rep));
    return ok_status();
  }
  Reader read = [&](const RecordFn& on_record, const IssueFn& on_issue) -> Expected<ReadStats> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{ErrorCode::kBadInput, fmt::format("{}: cannot read", path)};
    return kind == Kind::kJson ? read_json(in, on_record, on_issue) : read_xml(in, on_record, on_issue);
  };
  if (auto s = ingest_source(info, read, rep, total, progress, progress_fn); !s) return s;
  total.files.push_back(std::move(rep));
  return ok_status();
}

Expected<IngestReport> Ingester::run(const std::vector<std::string>& paths, const ProgressFn& progress_fn) {
  auto start = std::chrono::steady_clock::now();
  IngestReport report;
  auto files = expand_inputs(paths, &report.ignored_files);
  if (!files) return files.error();
  Progress progress;
  progress.files_total = files->size();
  // A large load into a small case builds its secondary indexes once, at the end.
  uint64_t bytes = 0;
  for (const auto& f : *files) {
    std::error_code ec;
    bytes += fs::file_size(f.path, ec);
  }
  auto existing = db_.query_int("SELECT count(*) FROM events");
  if (!existing) return existing.error();
  // The indexes are dropped when the first new source starts, so a re-run over files the case
  // already holds does not rebuild them.
  bulk_planned_ = bytes > (64u << 20) && static_cast<uint64_t>(*existing) * 300 < bytes;
  bulk_dropped_ = false;
  for (const auto& [path, walked] : *files) {
    progress.current = path;
    if (progress_fn) progress_fn(progress);
    if (interrupted()) {
      report.interrupted = true;
      break;
    }
    if (auto s = ingest_file(path, report, progress, progress_fn); !s) {
      writer_.rollback_source();
      if (s.error().code != ErrorCode::kInterrupted) return s.error();
      // The file being read was rolled back; what was committed before it stays.
      report.interrupted = true;
      report.interrupted_file = path;
      break;
    }
    // A file a folder walk met that holds no events at all is not evidence: listed, not failed.
    if (walked && !report.files.empty() && report.files.back().path == path && report.files.back().not_a_log) {
      report.ignored.push_back(report.files.back().message);
      report.files.pop_back();
    }
    ++progress.files_done;
  }
  if (progress_fn) progress_fn(progress);
  if (bulk_dropped_)
    if (auto s = store::create_bulk_indexes(db_); !s) return s.error();
  report.elapsed = std::chrono::steady_clock::now() - start;
  return report;
}

}  // namespace treeline::ingest

