#pragma once
// The events treeline understands, declared once as data (osquery style: one spec per unit).
// `ingest` uses the layouts to name EventData values; `store` uses the fields to write typed rows.
// schema/ must have one table per spec with one column per field (tests/test_catalog.cpp checks it).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace treeline {

enum class ValueKind {
  kText,  // kept verbatim
  kInt,   // hex ("0x1d34") or decimal text becomes INTEGER; "-" and "" become NULL
};

struct FieldSpec {
  std::string_view name;    // EventData name as Windows writes it, e.g. "NewProcessId"
  std::string_view column;  // snake_case column in the typed table, e.g. "new_process_id"
  ValueKind kind;
};

// A known positional layout: libevtx hands out EventData values in template order without
// names, so a layout is trusted only for an exact (event id, number of values) match.
struct LayoutSpec {
  int version;  // the event version Windows writes with this layout
  std::vector<std::string_view> names;
};

struct EventSpec {
  std::string_view channel;  // canonical spelling, e.g. "Security"
  uint32_t event_id;
  std::string_view action;   // normalized event.action, e.g. "process-created"
  std::string_view table;    // typed table; empty when the header says everything (4608, 1100)
  std::vector<FieldSpec> fields;
  std::vector<LayoutSpec> layouts;

  const LayoutSpec* layout_for(size_t value_count) const;
  const FieldSpec* field(std::string_view name) const;
};

const std::vector<EventSpec>& event_catalog();

// Channel comparison ignores case: SIEM exports write "security" too.
const EventSpec* find_event_spec(std::string_view channel, uint32_t event_id);

// A record as every reader hands it over: System header plus named EventData values.
// A typed value as it lands in SQLite.
using TypedValue = std::variant<std::monostate, int64_t, std::string>;

struct TypedRow {
  std::vector<TypedValue> values;  // parallel to spec->fields
  int bad_numbers = 0;             // kInt fields whose text was not a number (kept as NULL)
};

struct EventRecord {
  uint64_t record_id = 0;    // EventRecordID
  uint64_t file_record = 0;  // the file's own record number when it differs (re-exports), else 0
  int64_t time = 0;          // TimeCreated as FILETIME, UTC
  uint32_t event_id = 0;
  int version = -1;  // -1 when the reader could not tell
  bool recovered = false;  // came from a corrupt chunk's recovery, not the normal record list
  int64_t source_line = 0;  // JSON/XML: line (or array element) of the record; 0 for EVTX
  std::string channel;
  std::string provider;
  std::string computer;
  // System/Execution/@ProcessID: the process that wrote the event. For a PowerShell 4104 it is
  // the PowerShell host that ran the script; for most channels a service (lsass, services.exe).
  std::optional<uint32_t> execution_pid;
  const EventSpec* spec = nullptr;  // null: an event treeline only counts
  std::vector<std::string_view> names;  // parallel to values
  std::vector<std::string> values;
  std::vector<std::string> owned_names;  // backing store for names taken from XML
  // type_fields(*this), when the reader computed it on its own thread (the native reader's
  // decoding pool) to keep that work off the single database writer.
  std::optional<TypedRow> typed;
  // EventData/UserData as a JSON object (ingest/event_data.hpp), as the record had it; unset
  // when it has no fields.
  std::optional<std::string> data;

  const std::string* value(std::string_view name) const;
};
// `names` views `owned_names`' strings: a move must keep them where they are (a vector's buffer
// moves whole), so a vector of records must move them, never copy them.
static_assert(std::is_nothrow_move_constructible_v<EventRecord>);

// Turns a record's named strings into the typed row of its spec. Requires record.spec.
TypedRow type_fields(const EventRecord& record);

// "SubjectUserSid" -> "subject_user_sid"
std::string snake_case(std::string_view camel);

}  // namespace treeline
