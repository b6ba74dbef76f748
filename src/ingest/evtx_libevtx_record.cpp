#include <charconv>

#include "core/time.hpp"
#include "core/vocabulary.hpp"
#include "ingest/event_data.hpp"
#include "ingest/evtx_libevtx_reader.hpp"

namespace treeline::ingest::libevtx_detail {

// The record header's number and time are the file's; TimeCreated and EventRecordID are the
// event's. They agree in a log Windows wrote, but not in a filtered re-export or a forwarded
// log, where the XML is the truth (it is what Event Viewer and SIEM exports show).
Status Reader::take_xml_identity(const EventXml& xml, EventRecord& r, const std::string& where) {
  auto time = iso_to_filetime(xml.time_created);
  uint64_t id = 0;
  auto [p, ec] = std::from_chars(xml.record_id.data(), xml.record_id.data() + xml.record_id.size(), id);
  bool id_ok = ec == std::errc() && p == xml.record_id.data() + xml.record_id.size() && !xml.record_id.empty();
  bool differs = (time && *time != r.time) || (id_ok && id != r.record_id);
  if (!differs) return ok_status();
  if (!xml_mode_) {
    xml_mode_ = true;
    auto s = on_issue_({where, fmt::format("record header (record {}, {}) and XML (EventRecordID {}, TimeCreated {}) "
                                           "disagree; using the XML's values for the rest of this file",
                                           r.record_id, filetime_to_iso(r.time), xml.record_id, xml.time_created),
                        false});
    if (!s) return s;
  }
  if (id_ok) {
    r.file_record = r.record_id;
    r.record_id = id;
  }
  if (time) r.time = *time;
  return ok_status();
}

Expected<EventXml> Reader::render_xml(libevtx_record_t* rec) {
  std::string xml;
  bool ok = get_utf8([&](size_t* s, libevtx_error_t** e) { return libevtx_record_get_utf8_xml_string_size(rec, s, e); },
                     [&](uint8_t* b, size_t s, libevtx_error_t** e) { return libevtx_record_get_utf8_xml_string(rec, b, s, e); },
                     xml);
  if (!ok) return Error{ErrorCode::kBadInput, "libevtx could not render the record's XML"};
  return parse_event_xml(xml);
}

Status Reader::ensure_xml(libevtx_record_t* rec, std::optional<EventXml>& xml, ReadStats& stats) {
  if (xml) return ok_status();
  auto x = render_xml(rec);
  ++stats.xml_rendered;
  if (!x) return x.error();
  xml = std::move(x.value());
  return ok_status();
}

Expected<bool> Reader::read_header(libevtx_record_t* rec, bool recovered, const std::string& where, ReadStats& stats) {
  EventRecord& r = scratch_;
  libevtx_error_t* e = nullptr;
  uint64_t record_id = 0, written = 0;
  uint32_t event_id = 0;
  if (libevtx_record_get_identifier(rec, &record_id, &e) != 1 ||
      libevtx_record_get_written_time(rec, &written, &e) != 1 ||
      libevtx_record_get_event_identifier(rec, &event_id, &e) != 1) {
    ++stats.skipped;
    if (auto s = on_issue_({where, fmt::format("unreadable header: {}", take_error(e)), true}); !s) return s.error();
    return false;
  }
  r.record_id = record_id;
  r.file_record = 0;
  r.time = static_cast<int64_t>(written);
  // The qualifiers live in the high 16 bits for classic providers; the event id is the low 16.
  r.event_id = event_id & 0xffff;
  r.recovered = recovered;
  r.version = -1;
  r.execution_pid.reset();
  r.spec = nullptr;
  r.names.clear();
  r.values.clear();
  r.owned_names.clear();
  if (!get_utf8([&](size_t* s, libevtx_error_t** er) { return libevtx_record_get_utf8_source_name_size(rec, s, er); },
                [&](uint8_t* b, size_t s, libevtx_error_t** er) { return libevtx_record_get_utf8_source_name(rec, b, s, er); },
                r.provider))
    r.provider.clear();
  if (!get_utf8([&](size_t* s, libevtx_error_t** er) { return libevtx_record_get_utf8_computer_name_size(rec, s, er); },
                [&](uint8_t* b, size_t s, libevtx_error_t** er) { return libevtx_record_get_utf8_computer_name(rec, b, s, er); },
                r.computer) ||
      r.computer.empty()) {
    r.computer = "(unknown)";
    if (auto s = on_issue_({where, "no Computer name; stored under host \"(unknown)\"", false}); !s) return s.error();
  }
  return true;
}

Status Reader::resolve_channel(libevtx_record_t* rec, std::optional<EventXml>& xml, const std::string& where,
                               ReadStats& stats) {
  EventRecord& r = scratch_;
  std::string key = fmt::format("{}\x1f{}", r.provider, r.event_id);
  auto known_channel = channel_by_key_.find(key);
  if (xml_mode_ || known_channel == channel_by_key_.end()) {
    if (auto x = ensure_xml(rec, xml, stats); !x)
      if (auto s = on_issue_({where, fmt::format("XML not rendered: {}", x.error().message), false}); !s) return s;
  }
  if (xml) {
    if (auto s = take_xml_identity(*xml, r, where); !s) return s;
  }
  if (known_channel != channel_by_key_.end()) {
    r.channel = known_channel->second.channel;
    if (!known_channel->second.provider.empty()) r.provider = known_channel->second.provider;
  } else if (xml && !xml->channel.empty()) {
    r.channel = xml->channel;
    channel_by_key_.emplace(key, Learnt{r.channel, xml->provider});
    last_channel_ = r.channel;
    if (!xml->provider.empty()) r.provider = xml->provider;
  } else {
    // Without XML the channel can only be the file's: all records of a plain .evtx share it.
    r.channel = last_channel_.empty() ? "(unknown)" : last_channel_;
    if (auto s = on_issue_({where, fmt::format("channel unknown; assumed \"{}\"", r.channel), false}); !s) return s;
  }
  return ok_status();
}

const LayoutSpec* Reader::read_layout(libevtx_record_t* rec) {
  EventRecord& r = scratch_;
  libevtx_error_t* e = nullptr;
  int count = 0;
  if (libevtx_record_get_number_of_strings(rec, &count, &e) != 1) {
    take_error(e);
    return nullptr;
  }
  const LayoutSpec* layout = r.spec->layout_for(static_cast<size_t>(count));
  if (!layout) return nullptr;
  r.version = layout->version;
  r.values.resize(layout->names.size());
  for (int i = 0; i < count; ++i) {
    if (!get_utf8([&](size_t* s, libevtx_error_t** er) { return libevtx_record_get_utf8_string_size(rec, i, s, er); },
                  [&](uint8_t* b, size_t s, libevtx_error_t** er) { return libevtx_record_get_utf8_string(rec, i, b, s, er); },
                  r.values[static_cast<size_t>(i)]))
      return nullptr;
  }
  r.names.assign(layout->names.begin(), layout->names.end());
  return layout;
}

Status Reader::cross_check(libevtx_record_t* rec, std::optional<EventXml>& xml, const LayoutSpec& layout,
                           bool recovered, const std::string& where, ReadStats& stats) {
  EventRecord& r = scratch_;
  (void)ensure_xml(rec, xml, stats);  // a record without XML is reported as the difference below
  ++stats.cross_checked;
  std::string diff;
  if (!xml) diff = "XML did not render";
  else if (xml->data.size() != r.values.size()) diff = fmt::format("XML has {} values, layout {}", xml->data.size(), r.values.size());
  for (size_t i = 0; diff.empty() && i < r.values.size(); ++i) {
    // 4648's older manifest names its 8th value LogonGuid a second time; position wins.
    bool name_ok = xml->data[i].first == r.names[i] || (r.names[i] == "TargetLogonGuid" && xml->data[i].first == "LogonGuid");
    if (!name_ok || xml->data[i].second != r.values[i])
      diff = fmt::format("value {}: layout {}='{}', XML {}='{}'", i, r.names[i], r.values[i], xml->data[i].first,
                         xml->data[i].second);
  }
  // In header mode the stored identity comes from the record header: it must be the XML's.
  if (xml && diff.empty() && iso_to_filetime(xml->time_created) != r.time)
    diff = fmt::format("stored time {}, XML TimeCreated {}", filetime_to_iso(r.time), xml->time_created);
  if (xml && diff.empty() && xml->record_id != std::to_string(r.record_id))
    diff = fmt::format("stored record id {}, XML EventRecordID {}", r.record_id, xml->record_id);
  if (xml && diff.empty() && !recovered && xml->version != layout.version)
    diff = fmt::format("layout version {}, XML version {}", layout.version, xml->version);
  if (diff.empty()) return ok_status();
  ++stats.cross_check_mismatches;
  return on_issue_({where, "cross-check: " + diff, false});
}

Status Reader::take_xml_fields(libevtx_record_t* rec, std::optional<EventXml>& xml, const std::string& where,
                               ReadStats& stats, bool clear_values) {
  EventRecord& r = scratch_;
  if (auto x = ensure_xml(rec, xml, stats); !x) {
    if (clear_values) r.values.clear();
    return on_issue_({where, fmt::format("event {} kept without its fields: {}", r.event_id, x.error().message), false});
  }
  if (clear_values) {
    r.version = xml->version;
    r.values.clear();
    r.names.clear();
  }
  take_fields(r, std::move(xml->data));
  return ok_status();
}

Status Reader::read_one(libevtx_record_t* rec, bool recovered, const std::string& where, ReadStats& stats) {
  EventRecord& r = scratch_;
  auto header = read_header(rec, recovered, where, stats);
  if (!header) return header.error();
  if (!*header) return ok_status();
  std::optional<EventXml> xml;
  if (auto s = resolve_channel(rec, xml, where, stats); !s) return s;
  // libevtx has no accessor for the writer's process: its XML says it. Rendered where it names
  // the process that ran a script (the PowerShell logs), as the native reader keeps it for all.
  if (!xml && is_powershell_channel(r.channel)) {
    if (auto x = ensure_xml(rec, xml, stats); !x)
      if (auto s = on_issue_({where, fmt::format("XML not rendered: {}", x.error().message), false}); !s) return s;
  }
  if (xml) r.execution_pid = execution_pid_of(xml->execution_pid);
  r.spec = find_event_spec(r.channel, r.event_id);
  if (r.spec && !r.spec->fields.empty()) {
    const LayoutSpec* layout = read_layout(rec);
    if (layout && options_.cross_check_xml) {
      if (auto s = cross_check(rec, xml, *layout, recovered, where, stats); !s) return s;
    }
    // Unknown layout (a newer version, a vendor variation): take the names from the XML.
    if (!layout) {
      if (auto s = take_xml_fields(rec, xml, where, stats, /*clear_values=*/true); !s) return s;
    }
  } else if (r.spec) {
    r.version = r.spec->layouts.empty() ? -1 : r.spec->layouts.front().version;
  } else {
    // An event outside the catalog has no layout: its fields are named by its XML.
    if (auto s = take_xml_fields(rec, xml, where, stats, /*clear_values=*/false); !s) return s;
  }
  r.data = event_data_json(r.names, r.values);
  // A matched layout knows its version; a recovered record's XML may carry damaged bytes there.
  if (xml && xml->version >= 0 && r.version < 0 && r.spec) r.version = xml->version;
  if (recovered) ++stats.recovered; else ++stats.normal;
  return on_record_(r);
}

// Samples the first and last records: if any header disagrees with its XML, the file is a
// re-export, and every record's XML is rendered so no record carries the export's numbering.
bool headers_disagree_with_xml(libevtx_file_t* file) {
  libevtx_error_t* e = nullptr;
  int n = 0;
  if (libevtx_file_get_number_of_records(file, &n, &e) != 1) {
    take_error(e);
    return false;
  }
  constexpr int kSample = 4;
  for (int i = 0; i < n; ++i) {
    if (i == kSample && n > 2 * kSample) i = n - kSample;
    libevtx_record_t* raw = nullptr;
    if (libevtx_file_get_record_by_index(file, i, &raw, &e) != 1) {
      take_error(e);
      continue;
    }
    RecordPtr rec(raw);
    uint64_t id = 0, written = 0;
    if (libevtx_record_get_identifier(raw, &id, &e) != 1 || libevtx_record_get_written_time(raw, &written, &e) != 1) {
      take_error(e);
      continue;
    }
    std::string text;
    if (!get_utf8([&](size_t* s, libevtx_error_t** er) { return libevtx_record_get_utf8_xml_string_size(raw, s, er); },
                  [&](uint8_t* b, size_t s, libevtx_error_t** er) { return libevtx_record_get_utf8_xml_string(raw, b, s, er); },
                  text))
      continue;
    auto xml = parse_event_xml(text);
    if (!xml) continue;
    auto time = iso_to_filetime(xml->time_created);
    if ((time && *time != static_cast<int64_t>(written)) || (!xml->record_id.empty() && xml->record_id != std::to_string(id)))
      return true;
  }
  return false;
}

}  // namespace treeline::ingest::libevtx_detail
