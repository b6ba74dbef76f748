#include "ingest/json_reader.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "ingest/json_values.hpp"
#include "ingest/record_builder.hpp"

namespace treeline::ingest {
namespace {

// Ordered: EventData keeps the order the exporter wrote, as the EVTX record has it.
using json = nlohmann::ordered_json;

std::string scalar(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_null()) return "";
  return v.dump();
}

// Looks up "a.b.c" as nested objects or as a dotted key, whichever the exporter wrote.
const json* path(const json& root, std::string_view dotted) {
  if (auto it = root.find(std::string(dotted)); it != root.end()) return &*it;
  const json* cur = &root;
  size_t start = 0;
  while (start <= dotted.size()) {
    size_t dot = dotted.find('.', start);
    std::string key(dotted.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) {
      // The rest may be one dotted key at this level ("winlog": {"event_data.X": ...}).
      if (dot != std::string_view::npos)
        if (auto rest = cur->find(std::string(dotted.substr(start))); rest != cur->end()) return &*rest;
      return nullptr;
    }
    cur = &*it;
    if (dot == std::string_view::npos) return cur;
    start = dot + 1;
  }
  return nullptr;
}

std::string get(const json& root, std::initializer_list<std::string_view> paths) {
  for (auto p : paths)
    if (const json* v = path(root, p); v && !v->is_null()) {
      // evtx_dump writes {"#text": 4688, "#attributes": {...}} where an element has attributes.
      if (v->is_object()) {
        if (auto t = v->find("#text"); t != v->end()) return scalar(*t);
        continue;
      }
      return scalar(*v);
    }
  return {};
}

// An element's fields by their own names, as the EVTX reader names them: UserData wraps its
// fields in one element (<LogFileCleared>), and some providers nest them deeper (CAPI2). Text
// of an element with attributes is its "#text"; the attributes themselves are not fields.
// evtx_dump writes a repeated element X as X, X_1, X_2: the copies take X's name again.
std::string unsuffixed(const json& parent, const std::string& key) {
  auto us = key.rfind('_');
  if (us == std::string::npos || us + 1 == key.size() ||
      key.find_first_not_of("0123456789", us + 1) != std::string::npos)
    return key;
  std::string base = key.substr(0, us);
  return parent.contains(base) ? base : key;
}

void flatten(const json& v, const std::string& name, ExportedEvent& e, int depth) {
  if (depth > 32) return;  // deeper than any manifest; bounded against hostile input
  if (v.is_object()) {
    bool any = false;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key() == "#attributes" || it.key() == "xmlns") continue;
      any = true;
      flatten(*it, it.key() == "#text" ? name : unsuffixed(v, it.key()), e, depth + 1);
    }
    // An element with attributes only is present and empty, as the EVTX reader has it.
    if (!any) e.data.emplace_back(name, "");
  } else if (v.is_array()) {
    for (const auto& item : v) flatten(item, name, e, depth + 1);
  } else {
    e.data.emplace_back(name, scalar(v));
  }
}

// Every scalar under `prefix` ("winlog.event_data"), nested or dotted, by its own name.
void collect(const json& root, const std::string& prefix, ExportedEvent& e) {
  if (const json* obj = path(root, prefix); obj && obj->is_object()) {
    for (auto it = obj->begin(); it != obj->end(); ++it) {
      if (it.key() == "#attributes") continue;
      if (it.key() == "Data" && it->is_array()) {
        // <Data Name="X">v</Data> rendered as [{"#attributes": {"Name": "X"}, "#text": "v"}]; plain
        // strings are unnamed <Data> (an empty name).
        for (const auto& d : *it) {
          if (d.is_object()) e.data.emplace_back(get(d, {"#attributes.Name", "@Name", "Name"}), get(d, {"#text", "value"}));
          else e.data.emplace_back("", scalar(d));
        }
        continue;
      }
      if (it.key() == "Data" && it->is_object() && !it->contains("#attributes")) {
        // evtx_dump's unnamed <Data>: {"#text": ["a", "b"]} or {"#text": "a"}.
        if (auto t = it->find("#text"); t != it->end()) {
          if (t->is_array()) for (const auto& d : *t) e.data.emplace_back("", scalar(d));
          else e.data.emplace_back("", scalar(*t));
        }
        continue;
      }
      if (it.key() == "Data" && !it->is_object()) {
        e.data.emplace_back("", scalar(*it));  // one unnamed <Data>
        continue;
      }
      flatten(*it, unsuffixed(*obj, it.key()), e, 0);
    }
  }
  std::string dotted = prefix + ".";
  for (auto it = root.begin(); it != root.end(); ++it)
    if (it.key().rfind(dotted, 0) == 0) e.data.emplace_back(it.key().substr(dotted.size()), scalar(*it));
}

// System fields of the NXLog flat shape (and of other flat exporters); the rest is EventData.
bool is_flat_system_key(const std::string& k) {
  static const std::set<std::string> kSystem = {
      "SourceName", "ProviderGuid", "Level", "Keywords", "Channel", "channel", "Hostname", "hostname", "TimeCreated",
      "@timestamp", "EventTime", "EventReceivedTime", "EventID", "Message", "Task", "Opcode", "RecordNumber",
      "EventRecordID", "ActivityID", "RelatedActivityID", "ThreadID", "Version", "Category", "Domain", "AccountName",
      "UserID", "AccountType", "Severity", "SeverityValue", "EventType", "SourceModuleName", "SourceModuleType",
      "ExecutionProcessID", "ExecutionThreadID", "Computer", "@version", "tags", "host", "port", "OpcodeValue"};
  return kSystem.count(k) > 0;
}

Status to_event(const json& j, ExportedEvent& e) {
  if (!j.is_object()) return Error{ErrorCode::kBadInput, "not a JSON object"};
  if (path(j, "Event.System")) {  // evtx_dump / Sigma regression data
    e.event_id = get(j, {"Event.System.EventID"});
    e.channel = get(j, {"Event.System.Channel"});
    e.computer = get(j, {"Event.System.Computer"});
    e.provider = get(j, {"Event.System.Provider.#attributes.Name"});
    e.time = get(j, {"Event.System.TimeCreated.#attributes.SystemTime"});
    e.record_id = get(j, {"Event.System.EventRecordID"});
    e.execution_pid = get(j, {"Event.System.Execution.#attributes.ProcessID"});
    e.version = get(j, {"Event.System.Version"});
    collect(j, "Event.EventData", e);
    collect(j, "Event.UserData", e);
    return ok_status();
  }
  if (path(j, "winlog") || path(j, "winlog.channel") || path(j, "winlog.event_id")) {  // Winlogbeat / ECS
    e.event_id = get(j, {"winlog.event_id", "event.code"});
    e.channel = get(j, {"winlog.channel"});
    e.computer = get(j, {"winlog.computer_name", "host.name", "host.hostname"});
    e.provider = get(j, {"winlog.provider_name", "event.provider"});
    e.time = get(j, {"@timestamp", "event.created"});
    e.record_id = get(j, {"winlog.record_id"});
    e.stand_in_id = get(j, {"treeline.record_id"});
    e.execution_pid = get(j, {"winlog.process.pid"});
    e.version = get(j, {"winlog.version"});
    e.message = get(j, {"message"});
    collect(j, "winlog.event_data", e);
    collect(j, "winlog.user_data", e);
    return ok_status();
  }
  if (j.contains("log_name") && j.contains("event_id")) {  // Winlogbeat 6.x: winlog's fields at the top
    e.event_id = get(j, {"event_id"});
    e.channel = get(j, {"log_name"});
    e.computer = get(j, {"computer_name", "host.name"});
    e.provider = get(j, {"source_name"});
    e.time = get(j, {"@timestamp"});
    e.record_id = get(j, {"record_number"});
    e.execution_pid = get(j, {"process_id"});
    e.version = get(j, {"version"});
    e.message = get(j, {"message"});
    collect(j, "event_data", e);
    collect(j, "user_data", e);
    return ok_status();
  }
  if (j.contains("EventID") || j.contains("EventId")) {  // NXLog-style flat
    e.event_id = get(j, {"EventID", "EventId"});
    e.channel = get(j, {"Channel", "channel"});
    e.computer = get(j, {"Hostname", "hostname", "Computer"});
    e.provider = get(j, {"SourceName", "ProviderName"});
    // The record's own clock: TimeCreated (UTC) first; EventTime is the collector's local time.
    e.time = get(j, {"TimeCreated", "@timestamp", "EventTime"});
    e.record_id = get(j, {"RecordNumber", "EventRecordID"});
    e.execution_pid = get(j, {"ExecutionProcessID"});
    e.version = get(j, {"Version"});
    e.message = get(j, {"Message"});
    for (auto it = j.begin(); it != j.end(); ++it)
      if (!is_flat_system_key(it.key()) && !it->is_object() && !it->is_array()) e.data.emplace_back(it.key(), scalar(*it));
    return ok_status();
  }
  return Error{ErrorCode::kBadInput,
               "unknown JSON shape (not Winlogbeat 6/7/ECS, NXLog flat, or Event.System)"};
}

// A document of a treeline export that is not an event (a process, a finding), or an
// Elasticsearch _bulk action line ({"index": {...}}).
bool is_derived_document(const json& j) {
  if (!j.is_object()) return false;
  if (j.size() == 1 && (j.contains("index") || j.contains("create")) && j.begin()->is_object()) return true;
  auto t = j.find("treeline");
  if (t == j.end() || !t->is_object()) return false;
  auto d = t->find("document");
  return d != t->end() && d->is_string() && d->get<std::string>() != "event";
}

}  // namespace

Expected<ReadStats> read_json(std::istream& in, const RecordFn& on_record, const IssueFn& on_issue) {
  ReadStats stats;
  EventRecord record;
  auto one = [&](const json& j, const std::string& where, std::string raw, int64_t position) -> Status {
    // treeline's own export holds its processes and findings beside the events, and --bulk
    // puts an action line before each document: neither is an event, and neither is lost.
    if (is_derived_document(j)) {
      ++stats.not_events;
      return ok_status();
    }
    ExportedEvent e;
    e.raw = std::move(raw) + "\x1f" + where;
    Status s = to_event(j, e);
    if (s) s = build_record(std::move(e), record);
    if (!s) {
      ++stats.skipped;
      return on_issue({where, s.error().message, true});
    }
    ++stats.normal;
    record.source_line = position;
    return on_record(record);
  };
  // JSON lines when the first line is a whole JSON value on its own; else one document.
  std::string first;
  int64_t line_no = 0;
  while (std::getline(in, first)) {
    ++line_no;
    if (first.find_first_not_of(" \t\r") != std::string::npos) break;
  }
  if (first.empty()) return stats;
  bool lines_mode = json::accept(first);
  if (lines_mode) {
    std::string line = std::move(first);
    do {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::string where = fmt::format("line {}", line_no);
      json j;
      try {
        j = json::parse(line);
      } catch (const json::exception& e) {
        // A truncated last line, invalid UTF-8, a stray fragment: the line is reported, the rest loads.
        ++stats.skipped;
        std::string what = e.what();
        if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
        // The last line, without its newline: the export was cut in the middle of a record.
        if (in.eof()) {
          stats.truncated = true;
          what = fmt::format("the file ends inside this record, {} bytes into it: it was cut short ({})", line.size(), what);
          if (auto s = on_issue({where, what, true}); !s) return s.error();
          continue;
        }
        if (auto s = on_issue({where, "not valid JSON: " + what, true}); !s) return s.error();
        continue;
      }
      if (auto s = one(j, where, line, line_no); !s) return s.error();
    } while ((++line_no, std::getline(in, line)));
    return stats;
  }
  // One document, an array of records, or several pretty-printed documents one after another
  // (as evtx_dump writes them): each value, or each element of an array, is parsed on its own,
  // so memory holds one record, and a broken one is skipped without losing the rest.
  JsonValues values(in, first + "\n");
  std::string_view text;
  bool element = false;
  size_t number = 0;
  JsonValues::Next next;
  bool any = false;
  while ((next = values.next(&text, &element, &number)) == JsonValues::Next::kValue) {
    std::string where = fmt::format("{} {}", element ? "element" : "document", number);
    json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
      if (!any) return Error{ErrorCode::kBadInput, "not JSON lines and not a JSON document"};
      ++stats.skipped;
      if (auto s = on_issue({where, fmt::format("not valid JSON (byte {})", values.offset()), true}); !s) return s.error();
      continue;
    }
    any = true;
    if (auto s = one(doc, where, std::string(text), static_cast<int64_t>(number)); !s) return s.error();
  }
  if (next == JsonValues::Next::kCut) {
    if (!any) return Error{ErrorCode::kBadInput, "not JSON lines and not a JSON document: it ends inside its first value"};
    // The text ends inside a record: the export was cut short. What came before is kept.
    ++stats.skipped;
    stats.truncated = true;
    if (auto s = on_issue({fmt::format("byte {}", values.offset()),
                           "the file ends inside this record: it was cut short", true});
        !s)
      return s.error();
  }
  return stats;
}

}  // namespace treeline::ingest
