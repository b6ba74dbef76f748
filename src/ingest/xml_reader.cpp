#include "ingest/xml_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>

#include "ingest/event_xml.hpp"
#include "ingest/read_block.hpp"
#include "ingest/record_builder.hpp"

namespace treeline::ingest {

namespace {

// The stream is read a block at a time and each <Event> element parsed as soon as it is whole, so
// memory holds one block and one event, whatever the export's size.

class EventScanner {
 public:
  explicit EventScanner(std::istream& in) : in_(in) {}

  // The next whole <Event>...</Event>, with its line; false at the end. *cut is set when the
  // export ends inside an element (a copy that stopped): its line and byte offset.
  bool next(std::string_view* element, int64_t* line, std::optional<std::pair<int64_t, size_t>>* cut) {
    for (;;) {
      size_t start = find_start();
      if (start == std::string::npos) {
        if (eof_) return false;
        // Keep what could be the beginning of "<Event" split by the block boundary.
        drop(std::max(pos_, buf_.size() > 6 ? buf_.size() - 6 : 0));
        fill();
        continue;
      }
      count_lines(start);
      size_t end = buf_.find("</Event>", start);
      if (end == std::string::npos) {
        if (eof_) {
          *cut = std::pair{line_, consumed_ + start};
          return false;
        }
        drop(start);
        fill();
        continue;
      }
      end += 8;
      *element = std::string_view(buf_).substr(start, end - start);
      *line = line_;
      pos_ = end;
      return true;
    }
  }

 private:
  // "<EventData" and "<EventID" are not events.
  size_t find_start() const {
    size_t start = buf_.find("<Event", pos_);
    while (start != std::string::npos && start + 6 < buf_.size() &&
           std::isalpha(static_cast<unsigned char>(buf_[start + 6])))
      start = buf_.find("<Event", start + 6);
    // "<Event" at the very end of the block may be "<EventData": decide when more is read.
    if (start != std::string::npos && start + 6 >= buf_.size() && !eof_) return std::string::npos;
    return start;
  }
  void count_lines(size_t upto) {
    line_ += std::count(buf_.begin() + static_cast<long>(counted_), buf_.begin() + static_cast<long>(upto), '\n');
    counted_ = upto;
  }
  // Forgets buf_[0, n): its lines are counted first.
  void drop(size_t n) {
    count_lines(std::max(counted_, n));
    buf_.erase(0, n);
    consumed_ += n;
    counted_ -= n;
    pos_ = pos_ > n ? pos_ - n : 0;
  }
  void fill() { eof_ = !append_block(in_, buf_); }

  std::istream& in_;
  std::string buf_;
  size_t pos_ = 0;       // where the search goes on
  size_t counted_ = 0;   // newlines before here are in line_
  size_t consumed_ = 0;  // bytes dropped before buf_[0]
  int64_t line_ = 1;
  bool eof_ = false;
};

}  // namespace

Expected<ReadStats> read_xml(std::istream& in, const RecordFn& on_record, const IssueFn& on_issue) {
  ReadStats stats;
  EventRecord record;
  EventScanner scanner(in);
  std::string_view chunk;
  int64_t line = 0;
  std::optional<std::pair<int64_t, size_t>> cut;
  while (scanner.next(&chunk, &line, &cut)) {
    std::string where = fmt::format("line {}", line);
    auto x = parse_event_xml(chunk);
    Status s = ok_status();
    if (!x) s = x.error();
    if (s) {
      ExportedEvent e;
      e.event_id = x->event_id;
      e.channel = x->channel;
      e.computer = x->computer;
      e.provider = x->provider;
      e.time = x->time_created;
      e.record_id = x->record_id;
      e.execution_pid = x->execution_pid;
      if (x->version >= 0) e.version = std::to_string(x->version);
      e.data = std::move(x->data);
      e.raw = std::string(chunk) + "\x1f" + where;
      s = build_record(std::move(e), record);
    }
    if (!s) {
      ++stats.skipped;
      if (auto r = on_issue({where, s.error().message, true}); !r) return r.error();
      continue;
    }
    ++stats.normal;
    record.source_line = line;
    if (auto r = on_record(record); !r) return r.error();
  }
  if (cut) {
    // The export ends inside an element: a copy that stopped. What came before is kept.
    ++stats.skipped;
    stats.truncated = true;
    if (auto s = on_issue({fmt::format("line {} (byte {})", cut->first, cut->second),
                           "the file ends inside this <Event> element, before its </Event>: it was cut short", true});
        !s)
      return s.error();
  }
  return stats;
}

}  // namespace treeline::ingest
