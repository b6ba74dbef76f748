#include "ingest/xml_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "ingest/event_xml.hpp"
#include "ingest/record_builder.hpp"

namespace treeline::ingest {

Expected<ReadStats> read_xml(std::istream& in, const RecordFn& on_record, const IssueFn& on_issue) {
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  ReadStats stats;
  EventRecord record;
  size_t pos = 0;
  int64_t line = 1;
  size_t line_pos = 0;
  while (true) {
    size_t start = text.find("<Event", pos);
    // "<EventData" and "<EventID" are not events.
    while (start != std::string::npos && start + 6 < text.size() && std::isalpha(static_cast<unsigned char>(text[start + 6])))
      start = text.find("<Event", start + 6);
    if (start == std::string::npos) break;
    line += std::count(text.begin() + static_cast<long>(line_pos), text.begin() + static_cast<long>(start), '\n');
    line_pos = start;
    std::string where = fmt::format("line {}", line);
    size_t end = text.find("</Event>", start);
    if (end == std::string::npos) {
      ++stats.skipped;
      if (auto s = on_issue({where, "an <Event> element without its </Event> (truncated file?)", true}); !s) return s.error();
      break;
    }
    end += 8;
    pos = end;
    std::string_view chunk(text.data() + start, end - start);
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
  return stats;
}

}  // namespace treeline::ingest
