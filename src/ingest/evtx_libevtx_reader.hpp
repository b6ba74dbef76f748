#pragma once
// libevtx's handles and the record reader behind read_evtx_libevtx. Internal to the libevtx
// reader: libevtx error codes stop here.
#include <fmt/format.h>
// The libbfio memory-range handle lets libevtx read an EVTX held in memory (an archive member).
#define LIBEVTX_HAVE_BFIO
#include <libbfio.h>
#include <libevtx.h>

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "ingest/event_xml.hpp"
#include "ingest/evtx_libevtx.hpp"

namespace treeline::ingest::libevtx_detail {

// libyal errors print as a backtrace; the first line is the outermost, readable message.
inline std::string take_error(libevtx_error_t*& error) {
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

// Reads one record at a time into named values (evtx_libevtx_record.cpp).
class Reader {
 public:
  Reader(const RecordFn& on_record, const IssueFn& on_issue, const ReadOptions& options)
      : on_record_(on_record), on_issue_(on_issue), options_(options) {}

  Status read_one(libevtx_record_t* rec, bool recovered, const std::string& where, ReadStats& stats);
  // Renders every record's XML from now on, because the record headers cannot be trusted.
  void use_xml_identity() { xml_mode_ = true; }

 private:
  Expected<EventXml> render_xml(libevtx_record_t* rec);
  // The XML once per record, rendered when first needed: an error when it does not render.
  Status ensure_xml(libevtx_record_t* rec, std::optional<EventXml>& xml, ReadStats& stats);
  Status take_xml_identity(const EventXml& xml, EventRecord& r, const std::string& where);
  // The header's identity, provider and computer; false: unreadable (reported, skipped).
  Expected<bool> read_header(libevtx_record_t* rec, bool recovered, const std::string& where, ReadStats& stats);
  // The channel (and Windows' provider name), from the XML or what earlier records taught.
  Status resolve_channel(libevtx_record_t* rec, std::optional<EventXml>& xml, const std::string& where,
                         ReadStats& stats);
  // A catalog event's values by position through its layout; nullptr: no layout fits.
  const LayoutSpec* read_layout(libevtx_record_t* rec);
  // The positional values against the XML's (ReadOptions::cross_check_xml).
  Status cross_check(libevtx_record_t* rec, std::optional<EventXml>& xml, const LayoutSpec& layout, bool recovered,
                     const std::string& where, ReadStats& stats);
  // Names and values from the XML, which is rendered here if need be.
  Status take_xml_fields(libevtx_record_t* rec, std::optional<EventXml>& xml, const std::string& where,
                         ReadStats& stats, bool clear_values);
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

// Whether the first and last records' headers disagree with their XML (a re-export).
bool headers_disagree_with_xml(libevtx_file_t* file);

}  // namespace treeline::ingest::libevtx_detail
