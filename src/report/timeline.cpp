#include "report/timeline.hpp"

#include "report/summary.hpp"
#include "report/timeline_query.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <charconv>
#include <unordered_map>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <tuple>

#include "core/event_catalog.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "graph/state.hpp"
#include "store/case_db.hpp"
#include "store/query.hpp"

namespace treeline::report {
namespace {

using namespace timeline_detail;

// An instant holding more events than this is ordered by SQLite (which spills to disk) rather
// than in memory, so memory stays bounded when a log's clock stood still.
constexpr size_t kMaxTieRows = 65536;
// Events per slice of a timeline written by several threads.
constexpr size_t kSliceRows = 32768;
constexpr int kWorkerCacheKib = 32768;

struct Row {
  std::vector<Cell> cells;
  const std::string* host = nullptr;
  const std::string* channel = nullptr;
  int64_t record_id = 0, event_pk = 0;
  bool operator<(const Row& o) const {
    return std::tie(*host, *channel, record_id, event_pk) < std::tie(*o.host, *o.channel, o.record_id, o.event_pk);
  }
};

std::string hex_of(int64_t v) {
  char buf[20] = {'0', 'x'};
  auto [p, ec] = std::to_chars(buf + 2, buf + sizeof buf, static_cast<uint64_t>(v), 16);
  return std::string(buf, p);
}

void read_row(store::Stmt& st, const Names& names, Row& r) {
  r.cells.resize(20);
  r.host = &Names::of(names.hosts, st.column_int(kHost));
  r.channel = &Names::of(names.channels, st.column_int(kChannel));
  r.record_id = st.column_int(kRecordId);
  r.event_pk = st.column_int(kEventPk);
  auto event_id = st.column_int(kEventId);
  const EventSpec* spec = find_event_spec(*r.channel, static_cast<uint32_t>(event_id));
  auto& c = r.cells;
  c[0] = filetime_to_iso(st.column_int(kTime));
  c[1] = *r.host;
  c[2] = event_id;
  c[3] = spec ? Cell{std::string(spec->action)} : Cell{};
  c[4] = *r.channel;
  for (int i = kProcessKey; i < kLogon; ++i) c[static_cast<size_t>(i - 1)] = store::column_cell(st, i);
  c[13] = st.column_is_null(kLogon) ? Cell{} : Cell{hex_of(st.column_int(kLogon))};
  for (int i = kLogon + 1; i <= kIp; ++i) c[static_cast<size_t>(i - 1)] = store::column_cell(st, i);
  c[16] = Cell{};
  if (auto* key = std::get_if<std::string>(&c[5]))
    if (auto it = names.rules.find(*key); it != names.rules.end()) c[16] = it->second;
  c[17] = Names::of(names.sources, st.column_int(kPath));
  c[18] = r.record_id;
  c[19] = Cell{};
  if (!st.column_is_null(kData))
    if (const SummaryTemplate* t = find_summary(*r.channel, static_cast<uint32_t>(event_id)))
      if (std::string line = t->render(st.column_text(kData)); !line.empty()) c[19] = std::move(line);
}

void bind_options(store::Stmt& st, const TimelineOptions& o, const std::string& host) {
  if (!o.host.empty()) st.bind(1, std::string_view(host));
  if (o.from) st.bind(2, *o.from);
  if (o.to) st.bind(3, *o.to);
  if (o.logon_id) st.bind(4, *o.logon_id);
  if (!o.process_key.empty()) st.bind(5, std::string_view(o.process_key));
  if (o.event_id) st.bind(9, *o.event_id);
  if (!o.channel.empty()) st.bind(10, std::string_view(o.channel));
}

// A part of the timeline by time: lo <= time < hi, either end open.
struct Slice {
  std::optional<int64_t> lo, hi;
};

// Reads the rows of slices, in order, on one connection.
class SliceReader {
 public:
  static Expected<SliceReader> prepare(store::Db& db, const TimelineOptions& o, const Names& names) {
    SliceReader r(db, o, names);
    for (int i = 0; i < 4; ++i) {
      bool lo = i & 1, hi = i & 2;
      auto st = db.prepare(timeline_sql(o, false, lo, hi));
      if (!st) return st.error();
      r.scans_[i].emplace(std::move(*st));
    }
    auto instant = db.prepare(timeline_sql(o, true, false, false));
    if (!instant) return instant.error();
    r.instant_.emplace(std::move(*instant));
    return r;
  }

  // Calls emit(cells) for every row of the slice, in timeline order.
  template <typename Emit>
  Status run(const Slice& slice, Emit&& emit) {
    store::Stmt& st = *scans_[(slice.lo ? 1 : 0) | (slice.hi ? 2 : 0)];
    st.reset();  // which clears the bindings
    bind_options(st, *options_, host_);
    if (slice.lo) st.bind(7, *slice.lo);
    if (slice.hi) st.bind(8, *slice.hi);
    held_ = 0;
    bool started = false, written = false;  // written: the instant was too large and SQLite ordered it
    int64_t group_time = 0;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
      int64_t t = st.column_int(kTime);
      if (!started || t != group_time) {
        flush(emit);
        group_time = t;
        started = true;
        written = false;
      }
      if (written) continue;
      if (held_ == group_.size()) group_.emplace_back();
      read_row(st, *names_, group_[held_++]);
      if (held_ > kMaxTieRows) {
        held_ = 0;
        written = true;
        if (auto s = write_instant(t, emit); !s) return s;
      }
    }
    if (rc != SQLITE_DONE) return db_->error("reading the timeline");
    flush(emit);
    return ok_status();
  }

 private:
  SliceReader(store::Db& db, const TimelineOptions& o, const Names& names)
      : db_(&db), options_(&o), host_(host_short_name(o.host)), names_(&names) {}

  template <typename Emit>
  void flush(Emit& emit) {
    std::sort(group_.begin(), group_.begin() + static_cast<ptrdiff_t>(held_));
    for (size_t i = 0; i < held_; ++i) emit(group_[i].cells);
    held_ = 0;
  }

  template <typename Emit>
  Status write_instant(int64_t time, Emit& emit) {
    store::Stmt& st = *instant_;
    st.reset();
    bind_options(st, *options_, host_);
    st.bind(6, time);
    Row r;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
      read_row(st, *names_, r);
      emit(r.cells);
    }
    return rc == SQLITE_DONE ? ok_status() : db_->error("reading the timeline");
  }

  store::Db* db_;
  const TimelineOptions* options_;
  std::string host_;
  const Names* names_;  // shared, read only
  std::optional<store::Stmt> scans_[4];  // by which ends of the slice are bounded
  std::optional<store::Stmt> instant_;
  std::vector<Row> group_;  // the rows of the current instant, reused
  size_t held_ = 0;
};

const std::vector<std::string>& timeline_columns() {
  static const std::vector<std::string> c = {
      "time_utc", "host",     "event_id", "action",     "channel",  "process_key", "pid",
      "image",    "parent_key", "parent_pid", "parent_image", "command_line", "user", "logon_id",
      "logon_type", "source_ip", "findings", "source_file", "record_id", "summary"};
  return c;
}

// Slices of about kSliceRows events, cut only between two instants (so ties stay in one slice).
Expected<std::vector<Slice>> slices_of(store::Db& db, const TimelineOptions& o) {
  std::string sql = "SELECT time FROM events INDEXED BY events_by_time";
  if (o.from || o.to) sql += o.from && o.to ? " WHERE time >= ?2 AND time <= ?3" : o.from ? " WHERE time >= ?2" : " WHERE time <= ?3";
  sql += " ORDER BY time";
  auto st = db.prepare(sql);
  if (!st) return st.error();
  if (o.from) st->bind(2, *o.from);
  if (o.to) st->bind(3, *o.to);
  std::vector<Slice> out(1);
  size_t n = 0;
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    int64_t t = st->column_int(0);
    if (++n < kSliceRows || (out.back().lo && *out.back().lo == t)) continue;
    out.back().hi = t;
    out.push_back({t, std::nullopt});
    n = 0;
  }
  if (rc != SQLITE_DONE) return db.error("dividing the timeline");
  return out;
}

// The slices written in order while `workers` threads read the ones after, each on its own
// connection. At most `window` slices are read ahead, so memory does not grow with the case.
Status write_parallel(RowWriter& w, store::Db& db, const TimelineOptions& o, const Names& names, Format format,
                      const std::vector<Slice>& slices, unsigned workers) {
  struct Out {
    std::string text;
    size_t rows = 0;
    std::optional<Error> error;
    bool done = false;
  };
  std::vector<Out> outs(slices.size());
  std::mutex m;
  std::condition_variable_any cv;
  size_t next = 0, written = 0;
  const size_t window = workers + 2;
  // A thread that fails marks the slice it held (or the next one) as the error, so that the
  // writer stops there instead of waiting for it, and no more slices are handed out.
  constexpr size_t kNone = SIZE_MAX;
  auto fail = [&](Error e, size_t held) {
    std::lock_guard lock(m);
    size_t at = held != kNone ? held : next;
    if (at < outs.size()) outs[at] = Out{{}, 0, std::move(e), true};
    next = outs.size();
    cv.notify_all();
  };
  auto work_on = [&](std::stop_token stop, size_t& held) {
    auto conn = store::open_case_read_only(db.path());
    if (!conn) return fail(conn.error(), held);
    // Each connection caches its own pages: a smaller cache per thread keeps their sum bounded.
    if (auto s = conn->exec(fmt::format("PRAGMA cache_size = -{}", kWorkerCacheKib)); !s) return fail(s.error(), held);
    auto reader = SliceReader::prepare(*conn, o, names);
    if (!reader) return fail(reader.error(), held);
    for (;;) {
      {
        std::unique_lock lock(m);
        if (!cv.wait(lock, stop, [&] { return next >= outs.size() || next < written + window; })) return;
        if (next >= outs.size()) return;
        held = next++;
      }
      Out out;
      auto s = reader->run(slices[held], [&](const std::vector<Cell>& cells) {
        append_row(out.text, format, timeline_columns(), cells);
        ++out.rows;
      });
      if (!s) out.error = s.error();
      out.done = true;
      std::lock_guard lock(m);
      outs[held] = std::move(out);
      held = kNone;
      cv.notify_all();
    }
  };
  // An exception (out of memory) is this thread's error, not the end of the process.
  auto work = [&](std::stop_token stop) {
    size_t held = kNone;
    try {
      work_on(stop, held);
    } catch (const std::exception& e) {
      fail(Error{ErrorCode::kInternal, e.what()}, held);
    }
  };
  std::vector<std::jthread> threads;
  for (unsigned k = 0; k < workers; ++k) threads.emplace_back(work);
  for (size_t i = 0; i < outs.size(); ++i) {
    Out out;
    {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return outs[i].done; });
      out = std::move(outs[i]);
      outs[i] = Out{{}, 0, std::nullopt, true};
    }
    if (out.error) return *out.error;  // the threads stop and join as they go out of scope
    w.formatted(out.text, out.rows);
    std::lock_guard lock(m);
    written = i + 1;
    cv.notify_all();
  }
  return ok_status();
}

}  // namespace

Expected<size_t> write_timeline(std::ostream& out, store::Db& db, const TimelineOptions& o, Format format,
                                const TableStyle& style) {
  if (auto s = graph::require_current_graph(db); !s) return s.error();
  if (!o.process_key.empty()) {
    auto exists = db.prepare("SELECT 1 FROM processes WHERE process_key = ?1");
    if (!exists) return exists.error();
    exists->bind(1, std::string_view(o.process_key));
    if (exists->step() != SQLITE_ROW) return Error{ErrorCode::kUsage, fmt::format("no process {} in the case", o.process_key)};
  }
  auto version = db.query_int("PRAGMA data_version");
  if (!version) return version.error();
  RowWriter w(out, timeline_columns(), format, style);
  auto slices = slices_of(db, o);
  if (!slices) return slices.error();
  auto names = Names::load(db);
  if (!names) return names.error();
  unsigned workers = o.threads ? o.threads : std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  if (format == Format::kTable || slices->size() == 1 || workers == 1) {
    auto reader = SliceReader::prepare(db, o, *names);
    if (!reader) return reader.error();
    for (const Slice& slice : *slices)
      if (auto s = reader->run(slice, [&](const std::vector<Cell>& cells) { w.row(cells); }); !s) return s.error();
  } else if (auto s = write_parallel(w, db, o, *names, format, *slices, workers); !s) {
    return s.error();
  }
  // Each slice is its own read: a writer that committed in between would have mixed two cases.
  auto after = db.query_int("PRAGMA data_version");
  if (!after) return after.error();
  if (*after != *version)
    return Error{ErrorCode::kIo, "the case changed while the timeline was written (another treeline wrote to "
                                 "it); run the timeline again"};
  w.finish();
  return w.rows();
}

}  // namespace treeline::report
