#include "ingest/evtx_libevtx.hpp"

#include "ingest/event_data.hpp"

#include <fmt/format.h>
// The libbfio memory-range handle lets libevtx read an EVTX held in memory (an archive member).
#define LIBEVTX_HAVE_BFIO
#include <libbfio.h>
#include <libevtx.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <unordered_map>

#include "core/time.hpp"
#include "ingest/event_xml.hpp"

namespace treeline::ingest {
namespace {

// libyal errors print as a backtrace; the first line is the outermost, readable message.
std::string take_error(libevtx_error_t*& error) {
  if (error == nullptr) return "unknown libevtx error";
  char buf[2048] = {};
  libevtx_error_sprint(error, buf, sizeof buf);
  libevtx_error_free(&error);
  std::string s(buf);
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  while (!s.empty() && (s.back() == '.' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s.empty() ? "unknown libevtx error" : s;
}

struct FileCloser {
  void operator()(libevtx_file_t* f) const {
    libevtx_error_t* e = nullptr;
    libevtx_file_close(f, &e);
    if (e) libevtx_error_free(&e);
    libevtx_file_free(&f, &e);
    if (e) libevtx_error_free(&e);
  }
};
using FilePtr = std::unique_ptr<libevtx_file_t, FileCloser>;

struct RecordFree {
  void operator()(libevtx_record_t* r) const {
    libevtx_error_t* e = nullptr;
    libevtx_record_free(&r, &e);
    if (e) libevtx_error_free(&e);
  }
};
using RecordPtr = std::unique_ptr<libevtx_record_t, RecordFree>;

// Fetches a UTF-8 string through libevtx's size-then-copy calls.
template <typename SizeFn, typename GetFn>
bool get_utf8(SizeFn size_fn, GetFn get_fn, std::string& out) {
  libevtx_error_t* e = nullptr;
  size_t size = 0;
  if (size_fn(&size, &e) != 1) {
    if (e) libevtx_error_free(&e);
    return false;
  }
  if (size == 0) {
    out.clear();
    return true;
  }
  out.resize(size);
  if (get_fn(reinterpret_cast<uint8_t*>(out.data()), size, &e) != 1) {
    if (e) libevtx_error_free(&e);
    return false;
  }
  out.resize(size - 1);  // drop the terminating NUL
  return true;
}

class Reader {
 public:
  Reader(const RecordFn& on_record, const IssueFn& on_issue, const ReadOptions& options)
      : on_record_(on_record), on_issue_(on_issue), options_(options) {}

  Status read_one(libevtx_record_t* rec, bool recovered, const std::string& where, ReadStats& stats);
  // Renders every record's XML from now on, because the record headers cannot be trusted.
  void use_xml_identity() { xml_mode_ = true; }

 private:
  Expected<EventXml> render_xml(libevtx_record_t* rec);
  Status take_xml_identity(const EventXml& xml, EventRecord& r, const std::string& where);
  const RecordFn& on_record_;
  const IssueFn& on_issue_;
  const ReadOptions& options_;
  // Windows assigns each (provider, event id) to one channel in its manifest, so one XML
  // rendering per pair per file tells the channel of all the others.
  // The XML also names the provider as Windows does (Provider/@Name); libevtx's API gives the
  // classic EventSourceName where there is one ("DCOM" for Microsoft-Windows-DistributedCOM).
  struct Learnt {
    std::string channel;
    std::string provider;
  };
  std::unordered_map<std::string, Learnt> channel_by_key_;
  std::string last_channel_;
  EventRecord scratch_;
  bool xml_mode_ = false;
};

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

Status Reader::read_one(libevtx_record_t* rec, bool recovered, const std::string& where, ReadStats& stats) {
  EventRecord& r = scratch_;
  libevtx_error_t* e = nullptr;
  uint64_t record_id = 0, written = 0;
  uint32_t event_id = 0;
  if (libevtx_record_get_identifier(rec, &record_id, &e) != 1 ||
      libevtx_record_get_written_time(rec, &written, &e) != 1 ||
      libevtx_record_get_event_identifier(rec, &event_id, &e) != 1) {
    ++stats.skipped;
    return on_issue_({where, fmt::format("unreadable header: {}", take_error(e)), true});
  }
  r.record_id = record_id;
  r.file_record = 0;
  r.time = static_cast<int64_t>(written);
  // The qualifiers live in the high 16 bits for classic providers; the event id is the low 16.
  r.event_id = event_id & 0xffff;
  r.recovered = recovered;
  r.version = -1;
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
    if (auto s = on_issue_({where, "no Computer name; stored under host \"(unknown)\"", false}); !s) return s;
  }

  std::optional<EventXml> xml;
  std::string key = fmt::format("{}\x1f{}", r.provider, r.event_id);
  auto known_channel = channel_by_key_.find(key);
  if (xml_mode_ || known_channel == channel_by_key_.end()) {
    auto x = render_xml(rec);
    ++stats.xml_rendered;
    if (x) xml = std::move(x.value());
    else if (auto s = on_issue_({where, fmt::format("XML not rendered: {}", x.error().message), false}); !s) return s;
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

  r.spec = find_event_spec(r.channel, r.event_id);
  if (r.spec && !r.spec->fields.empty()) {
    int count = 0;
    if (libevtx_record_get_number_of_strings(rec, &count, &e) != 1) {
      take_error(e);
      count = -1;
    }
    const LayoutSpec* layout = count >= 0 ? r.spec->layout_for(static_cast<size_t>(count)) : nullptr;
    bool strings_ok = layout != nullptr;
    if (layout) {
      r.version = layout->version;
      r.values.resize(layout->names.size());
      for (int i = 0; i < count && strings_ok; ++i) {
        strings_ok = get_utf8(
            [&](size_t* s, libevtx_error_t** er) { return libevtx_record_get_utf8_string_size(rec, i, s, er); },
            [&](uint8_t* b, size_t s, libevtx_error_t** er) { return libevtx_record_get_utf8_string(rec, i, b, s, er); },
            r.values[i]);
      }
      if (strings_ok) r.names.assign(layout->names.begin(), layout->names.end());
      if (strings_ok && options_.cross_check_xml) {
        if (!xml) {
          auto x = render_xml(rec);
          ++stats.xml_rendered;
          if (x) xml = std::move(x.value());
        }
        ++stats.cross_checked;
        std::string diff;
        if (!xml) diff = "XML did not render";
        else if (xml->data.size() != r.values.size()) diff = fmt::format("XML has {} values, layout {}", xml->data.size(), r.values.size());
        for (size_t i = 0; diff.empty() && i < r.values.size(); ++i) {
          // 4648's older manifest names its 8th value LogonGuid a second time; position wins.
          bool name_ok = xml->data[i].first == r.names[i] ||
                         (r.names[i] == "TargetLogonGuid" && xml->data[i].first == "LogonGuid");
          if (!name_ok || xml->data[i].second != r.values[i])
            diff = fmt::format("value {}: layout {}='{}', XML {}='{}'", i, r.names[i], r.values[i],
                               xml->data[i].first, xml->data[i].second);
        }
        // In header mode the stored identity comes from the record header: it must be the XML's.
        if (xml && diff.empty() && iso_to_filetime(xml->time_created) != r.time)
          diff = fmt::format("stored time {}, XML TimeCreated {}", filetime_to_iso(r.time), xml->time_created);
        if (xml && diff.empty() && xml->record_id != std::to_string(r.record_id))
          diff = fmt::format("stored record id {}, XML EventRecordID {}", r.record_id, xml->record_id);
        if (xml && diff.empty() && !recovered && xml->version != layout->version)
          diff = fmt::format("layout version {}, XML version {}", layout->version, xml->version);
        if (!diff.empty()) {
          ++stats.cross_check_mismatches;
          if (auto s = on_issue_({where, "cross-check: " + diff, false}); !s) return s;
        }
      }
    }
    if (!strings_ok) {
      // Unknown layout (a newer version, a vendor variation): take the names from the XML.
      if (!xml) {
        auto x = render_xml(rec);
        ++stats.xml_rendered;
        if (x) xml = std::move(x.value());
        else {
          r.values.clear();
          if (auto s = on_issue_({where, fmt::format("event {} kept without its fields: {}", r.event_id, x.error().message), false}); !s)
            return s;
        }
      }
      if (xml) {
        r.version = xml->version;
        r.values.clear();
        for (auto& [name, value] : xml->data) {
          r.owned_names.push_back(std::move(name));
          r.values.push_back(std::move(value));
        }
        for (const auto& n : r.owned_names) r.names.emplace_back(n);
      }
    }
  } else if (r.spec) {
    r.version = r.spec->layouts.empty() ? -1 : r.spec->layouts.front().version;
  } else {
    // An event outside the catalog has no layout: its fields are named by its XML.
    if (!xml) {
      auto x = render_xml(rec);
      ++stats.xml_rendered;
      if (x) xml = std::move(x.value());
      else if (auto s = on_issue_({where, fmt::format("event {} kept without its fields: {}", r.event_id, x.error().message), false}); !s)
        return s;
    }
    if (xml) {
      for (auto& [name, value] : xml->data) {
        r.owned_names.push_back(std::move(name));
        r.values.push_back(std::move(value));
      }
      for (const auto& n : r.owned_names) r.names.emplace_back(n);
    }
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

}  // namespace

bool has_evtx_signature(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char sig[8] = {};
  if (!in.read(sig, 8)) return false;
  return std::memcmp(sig, "ElfFile\0", 8) == 0;
}

namespace {

struct BfioFree {
  void operator()(libbfio_handle_t* h) const {
    libbfio_error_t* e = nullptr;
    libbfio_handle_free(&h, &e);
    if (e) libbfio_error_free(&e);
  }
};
using BfioPtr = std::unique_ptr<libbfio_handle_t, BfioFree>;

Expected<ReadStats> read_open_file(libevtx_file_t* file, const std::string& path, const RecordFn& on_record,
                                   const IssueFn& on_issue, const ReadOptions& options);

// Opens with `open` (by path or through a bfio handle), then reads.
template <typename OpenFn>
Expected<ReadStats> open_and_read(const std::string& path, OpenFn open, const RecordFn& on_record,
                                  const IssueFn& on_issue, const ReadOptions& options) {
  libevtx_error_t* e = nullptr;
  libevtx_file_t* raw = nullptr;
  if (libevtx_file_initialize(&raw, &e) != 1)
    return Error{ErrorCode::kInternal, fmt::format("{}: libevtx: {}", path, take_error(e))};
  FilePtr file(raw);
  // Evidence is opened for reading only.
  if (open(file.get(), &e) != 1) {
    std::string why = take_error(e);
    // libevtx_file_close must not run on a file that never opened.
    libevtx_file_t* f = file.release();
    libevtx_file_free(&f, &e);
    if (e) libevtx_error_free(&e);
    return Error{ErrorCode::kBadInput, fmt::format("{}: not a readable EVTX file: {}", path, why)};
  }
  return read_open_file(file.get(), path, on_record, on_issue, options);
}

}  // namespace

Expected<ReadStats> read_evtx_libevtx(const std::string& path, const RecordFn& on_record, const IssueFn& on_issue,
                                     const ReadOptions& options) {
  return open_and_read(
      path, [&](libevtx_file_t* f, libevtx_error_t** e) { return libevtx_file_open(f, path.c_str(), LIBEVTX_OPEN_READ, e); },
      on_record, on_issue, options);
}

Expected<ReadStats> read_evtx_libevtx_memory(const std::string& name, const std::string& bytes, const RecordFn& on_record,
                                            const IssueFn& on_issue, const ReadOptions& options) {
  libbfio_handle_t* raw = nullptr;
  libbfio_error_t* be = nullptr;
  if (libbfio_memory_range_initialize(&raw, &be) != 1) {
    if (be) libbfio_error_free(&be);
    return Error{ErrorCode::kInternal, fmt::format("{}: libbfio memory range unavailable", name)};
  }
  BfioPtr handle(raw);
  // libbfio takes a non-const pointer but only reads through it.
  if (libbfio_memory_range_set(handle.get(), reinterpret_cast<uint8_t*>(const_cast<char*>(bytes.data())), bytes.size(), &be) != 1) {
    if (be) libbfio_error_free(&be);
    return Error{ErrorCode::kInternal, fmt::format("{}: libbfio memory range unavailable", name)};
  }
  return open_and_read(
      name,
      [&](libevtx_file_t* f, libevtx_error_t** e) {
        return libevtx_file_open_file_io_handle(f, handle.get(), LIBEVTX_OPEN_READ, e);
      },
      on_record, on_issue, options);
}

namespace {

Expected<ReadStats> read_open_file(libevtx_file_t* file_ptr, const std::string& path, const RecordFn& on_record,
                                   const IssueFn& on_issue, const ReadOptions& options) {
  libevtx_error_t* e = nullptr;
  struct Borrowed {
    libevtx_file_t* p;
    libevtx_file_t* get() const { return p; }
  } file{file_ptr};
  ReadStats stats;
  stats.corrupted = libevtx_file_is_corrupted(file.get(), &e) == 1;
  if (e) libevtx_error_free(&e);

  Reader reader(on_record, on_issue, options);
  if (headers_disagree_with_xml(file.get())) reader.use_xml_identity();
  int normal = 0, recovered = 0;
  if (libevtx_file_get_number_of_records(file.get(), &normal, &e) != 1) {
    return Error{ErrorCode::kBadInput, fmt::format("{}: libevtx cannot count records: {}", path, take_error(e))};
  }
  for (int i = 0; i < normal && !options.recovered_only; ++i) {
    libevtx_record_t* rec = nullptr;
    std::string where = fmt::format("record index {}", i);
    if (libevtx_file_get_record_by_index(file.get(), i, &rec, &e) != 1) {
      ++stats.skipped;
      if (auto s = on_issue({where, take_error(e), true}); !s) return s.error();
      continue;
    }
    RecordPtr owned(rec);
    if (auto s = reader.read_one(rec, false, where, stats); !s) return s.error();
  }
  if (libevtx_file_get_number_of_recovered_records(file.get(), &recovered, &e) != 1) {
    recovered = 0;
    if (auto s = on_issue({"recovered records", take_error(e), false}); !s) return s.error();
  }
  for (int i = 0; i < recovered; ++i) {
    libevtx_record_t* rec = nullptr;
    std::string where = fmt::format("recovered record index {}", i);
    if (libevtx_file_get_recovered_record_by_index(file.get(), i, &rec, &e) != 1) {
      // Recovery scans the free space of chunks; what it cannot parse is a fragment of an old
      // record, not a record of the log, so it is reported but not counted as skipped.
      ++stats.fragments;
      if (auto s = on_issue({where, fmt::format("unreadable fragment in free space: {}", take_error(e)), false}); !s)
        return s.error();
      continue;
    }
    RecordPtr owned(rec);
    if (auto s = reader.read_one(rec, true, where, stats); !s) return s.error();
  }
  return stats;
}

}  // namespace

}  // namespace treeline::ingest
