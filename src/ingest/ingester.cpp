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
#include "store/case_db.hpp"
#include "ingest/json_reader.hpp"
#include "ingest/sha256.hpp"
#include "ingest/xml_reader.hpp"

namespace fs = std::filesystem;

namespace treeline::ingest {
namespace {

constexpr size_t kIssuesInReport = 5;

bool looks_like_log(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  static const std::set<std::string> kExts = {".evtx", ".json", ".jsonl", ".ndjson", ".xml", ".zip", ".gz", ".tgz", ".tar"};
  return kExts.count(ext) > 0 || has_evtx_signature(p.string());
}

enum class Kind { kEvtx, kJson, kXml, kUnknown };

// What the first bytes say: the EVTX signature, or the first character of JSON or XML text.
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

Status Ingester::ingest_source(const store::SourceInfo& info, const Reader& read, FileReport& rep, IngestReport& total,
                               Progress& progress, const ProgressFn& progress_fn,
                               const std::function<bool(const ReadStats&)>& redo, bool* again) {
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
    auto added = writer_.add(r, &bad_numbers);
    if (!added) return added.error();
    if (*added == store::AddResult::kAdded) ++t.added; else ++t.duplicate;
    if (bad_numbers > 0) {
      auto s = on_issue({fmt::format("record {}", r.record_id),
                         fmt::format("event {}: {} numeric field(s) not a number, stored as NULL", r.event_id, bad_numbers),
                         false});
      if (!s) return s;
    }
    auto& c = by_event[{r.spec ? std::string(r.spec->channel) : r.channel, r.event_id}];
    ++c.records;
    c.typed = r.spec != nullptr;
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
  if (redo && again && redo(*result)) {
    writer_.rollback_source();
    std::string path = rep.path;
    rep = FileReport();
    rep.path = path;
    *again = true;
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

namespace {

// An istream over a streamed member, for the JSON and XML readers.
class StreamBuf : public std::streambuf {
 public:
  explicit StreamBuf(const StreamFn& fn) : fn_(fn), buf_(1 << 16) {}
  std::optional<Error> error;  // the stream broke: the records after it are lost

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    auto n = fn_(reinterpret_cast<uint8_t*>(buf_.data()), buf_.size());
    if (!n) error = n.error();
    if (!n || *n == 0) return traits_type::eof();
    setg(buf_.data(), buf_.data(), buf_.data() + *n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  const StreamFn& fn_;
  std::vector<char> buf_;
};

}  // namespace

Status Ingester::ingest_member(const std::string& container, Member& member, IngestReport& total, Progress& progress,
                               const ProgressFn& progress_fn) {
  FileReport rep;
  rep.path = container + "!" + member.name();
  std::string bytes;
  bool whole = false;
  // A damaged member: what came before the damage is read like the rest of a stream.
  std::optional<Error> broken;
  // Reads the member on until `bytes` holds `upto` bytes or the member ends.
  auto pull = [&](size_t upto) {
    std::vector<char> buf(1 << 16);
    while (!whole && !broken && bytes.size() < upto) {
      auto n = member.read(buf.data(), std::min(buf.size(), upto - bytes.size()));
      if (!n) broken = n.error();
      else if (*n == 0) whole = true;
      else bytes.append(buf.data(), *n);
    }
  };
  pull(4096);
  if (broken && bytes.empty()) return *broken;
  Kind kind = sniff(std::string_view(bytes).substr(0, 4096));
  if (kind == Kind::kUnknown) {
    // A README or a screenshot inside a collection is not evidence of events: counted, not failed.
    ++total.ignored_files;
    return ok_status();
  }
  // Small members are held in memory, where they are hashed first and, in auto, can go to
  // libevtx; larger ones stream (--reader libevtx needs them whole all the same).
  const size_t limit = options_.member_memory_limit;
  bool fits = !member.size() || *member.size() <= limit;
  if (fits || (kind == Kind::kEvtx && options_.reader == ReaderChoice::kLibevtx))
    pull(options_.reader == ReaderChoice::kLibevtx ? SIZE_MAX : limit + 1);
  store::SourceInfo info;
  info.path = rep.path;
  info.format = kind_name(kind);
  info.reader = kind == Kind::kEvtx ? "libevtx" : info.format;
  info.container = container;
  info.member = member.name();
  pending_size_.reset();
  if (whole) {
    info.size = static_cast<int64_t>(bytes.size());
    auto sha = sha256_bytes(bytes);
    if (!sha) return sha.error();
    info.sha256 = std::move(*sha);
    if (kind == Kind::kEvtx) {
      if (auto s = ingest_evtx(info, &bytes, nullptr, rep, total, progress, progress_fn); !s) return s;
      total.files.push_back(std::move(rep));
      return ok_status();
    }
    Reader read = [&](const RecordFn& on_record, const IssueFn& on_issue) -> Expected<ReadStats> {
      std::istringstream in(bytes);
      return kind == Kind::kJson ? read_json(in, on_record, on_issue) : read_xml(in, on_record, on_issue);
    };
    if (auto s = ingest_source(info, read, rep, total, progress, progress_fn); !s) return s;
    total.files.push_back(std::move(rep));
    return ok_status();
  }

  // Streamed: the bytes pulled so far, then the rest of the member, hashed on the way. The
  // hash and size are stored when the member ends (a copy already in the case is then rolled
  // back, as for a plain file hashed while read).
  info.size = static_cast<int64_t>(member.size().value_or(0));
  auto hasher = Sha256::create();
  if (!hasher) return hasher.error();
  Sha256& sha = *hasher;
  sha.update(bytes.data(), bytes.size());
  size_t prefix = 0;
  StreamFn stream = [&](uint8_t* buf, size_t n) -> Expected<size_t> {
    if (prefix < bytes.size()) {
      size_t k = std::min(n, bytes.size() - prefix);
      std::memcpy(buf, bytes.data() + prefix, k);
      prefix += k;
      return k;
    }
    if (broken) return *broken;
    auto got = member.read(reinterpret_cast<char*>(buf), n);
    if (!got) broken = got.error();
    else sha.update(buf, *got);
    return got;
  };
  std::promise<Expected<std::string>> hashed;
  pending_sha256_ = hashed.get_future().share();
  // Whatever the reader left unread is hashed too, so the hash is the whole member's. (Of a
  // damaged member, it is the hash of the bytes that could be read; the damage is reported.)
  auto finish_hash = [&]() {
    std::vector<uint8_t> rest(1 << 16);
    for (;;) {
      auto got = stream(rest.data(), rest.size());
      if (!got || *got == 0) break;
    }
    pending_size_ = static_cast<int64_t>(member.offset());
    hashed.set_value(sha.hex());
  };
  Reader read = [&](const RecordFn& on_record, const IssueFn& on_issue) -> Expected<ReadStats> {
    StreamBuf buf(stream);
    std::istream in(&buf);
    auto stats = kind == Kind::kJson ? read_json(in, on_record, on_issue) : read_xml(in, on_record, on_issue);
    finish_hash();
    if (stats && buf.error) {
      stats->corrupted = true;
      auto s = on_issue({fmt::format("byte {}", member.offset()),
                         fmt::format("{}; the records after it are lost", buf.error->message), true});
      if (!s) return s.error();
    }
    return stats;
  };
  StreamedInput streamed{stream, finish_hash};
  Status s = kind == Kind::kEvtx ? ingest_evtx(info, nullptr, &streamed, rep, total, progress, progress_fn)
                                 : ingest_source(info, read, rep, total, progress, progress_fn);
  pending_size_.reset();
  if (!s) return s;
  total.files.push_back(std::move(rep));
  return ok_status();
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
