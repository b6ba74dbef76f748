#pragma once
// `treeline ingest`: expands paths, reads each log, and writes it into the case, one
// transaction per source file.
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ingest/archive.hpp"
#include "ingest/evtx_libevtx.hpp"
#include "ingest/evtx_native.hpp"
#include "store/case_writer.hpp"

namespace treeline::ingest {

struct Progress {
  size_t files_done = 0;
  size_t files_total = 0;
  int64_t records = 0;
  std::string current;
};

struct FileReport {
  enum class Status { kIngested, kAlreadyInCase, kFailed };
  std::string path;
  std::string reader;  // which reader read it: native, libevtx, json, xml
  Status status = Status::kIngested;
  std::string message;  // why it failed, or where it already is
  bool not_a_log = false;  // failed because it holds no Windows events at all (not damage)
  store::SourceTotals totals;
  ReadStats read;
  std::vector<ReadIssue> issues;  // the first few skipped records; every issue is in ingest_issues
  int64_t issue_count = 0;
};

struct IngestReport {
  std::vector<FileReport> files;
  size_t ignored_files = 0;  // files under a directory, or archive members, that are not event logs
  // Files a folder walk met that turned out not to be event logs (a collection's metadata.json,
  // an editor's settings, a pcap zip): "path: reason". Named on the command line, they fail.
  std::vector<std::string> ignored;
  // Records read per (channel, event id); `typed` says whether treeline stores its fields.
  struct Count {
    int64_t records = 0;
    bool typed = false;
  };
  std::map<std::pair<std::string, uint32_t>, Count> by_event;
  std::chrono::duration<double> elapsed{};
  bool interrupted = false;      // SIGINT/SIGTERM: the run stopped early
  std::string interrupted_file;  // the file that was being read, rolled back (empty: between files)

  int64_t records_read() const;
  int64_t records_added() const;
  int64_t records_skipped() const;
  size_t files_failed() const;
};

using ProgressFn = std::function<void(const Progress&)>;

struct InputFile {
  std::string path;
  bool walked = false;  // found in a folder, not named: a file that is no event log is ignored
};
// Expands files and directories (recursively) into the sorted list of log files to read.
// A missing path, or a directory without any event log, is an error naming it.
Expected<std::vector<InputFile>> expand_inputs(const std::vector<std::string>& paths, size_t* ignored);

enum class ReaderChoice {
  kAuto,     // native, and old records carved from the chunks' free space
  kNative,
  kLibevtx,
};

struct IngestOptions {
  ReaderChoice reader = ReaderChoice::kAuto;
  unsigned threads = 2;  // native reader: chunk-decoding threads
  // Archive members up to this size are read into memory (so auto can hand a damaged one to
  // libevtx); larger ones stream through the native, JSON or XML reader in bounded memory.
  size_t member_memory_limit = size_t{64} << 20;
};

// An archive member read once, in order: its bytes, and what to do once a reader is done with
// them (hash what it left unread).
struct StreamedInput {
  StreamFn read;
  std::function<void()> done;
};

class Ingester {
 public:
  explicit Ingester(store::Db& db, IngestOptions options = {}) : db_(db), writer_(db), options_(options) {}
  Expected<IngestReport> run(const std::vector<std::string>& paths, const ProgressFn& progress);

 private:
  using Reader = std::function<Expected<ReadStats>(const RecordFn&, const IssueFn&)>;
  // One file: plain (EVTX, JSON, XML) or an archive, whose members become sources of their own.
  Status ingest_file(const std::string& path, IngestReport& total, Progress& progress, const ProgressFn& progress_fn);
  Status ingest_member(const std::string& container, Member& member, IngestReport& total, Progress& progress,
                       const ProgressFn& progress_fn);
  // One source, in one transaction.
  Status ingest_source(const store::SourceInfo& info, const Reader& read, FileReport& report, IngestReport& total,
                       Progress& progress, const ProgressFn& progress_fn);
  // EVTX by path, in memory or from a stream, by the chosen reader.
  Status ingest_evtx(store::SourceInfo info, const std::string* bytes, const StreamedInput* stream, FileReport& rep,
                     IngestReport& total, Progress& progress, const ProgressFn& progress_fn);
  store::Db& db_;
  store::CaseWriter writer_;
  // The hash of the plain file being read, computed alongside when SourceInfo::sha256 is empty.
  std::shared_future<Expected<std::string>> pending_sha256_;
  // The size of a streamed archive member, known when it ends; stored with its hash.
  std::optional<int64_t> pending_size_;
  // A large load into a small case: secondary indexes are built once, at the end of run().
  bool bulk_planned_ = false;
  bool bulk_dropped_ = false;
  IngestOptions options_;
};

}  // namespace treeline::ingest
