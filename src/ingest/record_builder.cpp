#include "ingest/record_builder.hpp"

#include <charconv>

#include "core/regex.hpp"
#include "ingest/event_data.hpp"
#include "ingest/fnv1a.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/text.hpp"
#include "core/time.hpp"

namespace treeline::ingest {

Status build_record(ExportedEvent&& in, EventRecord& r) {
  auto id = parse_windows_int(in.event_id);
  if (!id || *id < 0 || *id > 65535) return Error{ErrorCode::kBadInput, in.event_id.empty() ? "no EventID" : fmt::format("EventID '{}' is not a number", in.event_id)};
  if (in.channel.empty()) return Error{ErrorCode::kBadInput, "no Channel"};
  if (in.computer.empty()) return Error{ErrorCode::kBadInput, "no Computer/Hostname"};
  auto time = iso_to_filetime(in.time);
  if (!time) return Error{ErrorCode::kBadInput, in.time.empty() ? "no time" : fmt::format("time '{}' is not ISO 8601", in.time)};

  r = EventRecord{};
  r.event_id = static_cast<uint32_t>(*id);
  r.time = *time;
  r.channel = std::move(in.channel);
  r.provider = std::move(in.provider);
  r.computer = std::move(in.computer);
  r.execution_pid = execution_pid_of(in.execution_pid);
  int64_t stand_in = 0;
  if (auto rid = parse_windows_int(in.record_id); rid && *rid >= 0) {
    r.record_id = static_cast<uint64_t>(*rid);
  } else if (auto [p, ec] = std::from_chars(in.stand_in_id.data(), in.stand_in_id.data() + in.stand_in_id.size(), stand_in);
             ec == std::errc() && p == in.stand_in_id.data() + in.stand_in_id.size() && stand_in < 0) {
    // treeline's own export of a record that had no EventRecordID: the id it got then, so the
    // export reads back as the same events.
    r.record_id = static_cast<uint64_t>(stand_in);
  } else {
    // No EventRecordID in the export: a hash of the record's text and position stands in
    // (negative, so it is never mistaken for one). Nothing is deduplicated on it: identical
    // lines may be distinct events, and the same file twice is caught by its SHA-256.
    r.record_id = static_cast<uint64_t>(-static_cast<int64_t>(fnv1a(in.raw) & 0x7fffffffffffffffULL));
  }
  r.spec = find_event_spec(r.channel, r.event_id);
  take_fields(r, std::move(in.data));
  // Before anything is derived from the message: the data is what the export holds.
  r.data = event_data_json(r.names, r.values);
  if (r.spec) {
    // Some exporters fold the event's ProcessId (Sysmon's, 4688's creator) into their own
    // ProcessID, and some drop 1102's UserData; the message still says them. Derived fields go
    // to the typed row, not to the data, which keeps what the export holds.
    auto recover = [&](std::string_view field, const Regex& pattern) {
      if (r.value(field) || in.message.empty()) return;
      if (auto m = pattern.find(in.message)) {
        r.owned_names.emplace_back(field);
        r.values.emplace_back(m->group1);
      }
    };
    if (r.spec->channel != "Security") {
      static const Regex kPid = *Regex::compile(R"((?:^|\n)ProcessId:[ \t]*(\d+))");
      recover("ProcessId", kPid);
    } else if (r.event_id == 4688) {
      static const Regex kCreator = *Regex::compile(R"(Creator Process ID:[ \t]*(0x[0-9a-fA-F]+|\d+))");
      recover("ProcessId", kCreator);
    } else if (r.event_id == 1102) {
      static const Regex kUser = *Regex::compile(R"(Account Name:[ \t]*([^\r\n\t]+))");
      static const Regex kDomain = *Regex::compile(R"(Domain Name:[ \t]*([^\r\n\t]+))");
      static const Regex kLogon = *Regex::compile(R"(Logon ID:[ \t]*(0x[0-9a-fA-F]+))");
      static const Regex kSid = *Regex::compile(R"(Security ID:[ \t]*(S-[0-9-]+))");
      recover("SubjectUserName", kUser);
      recover("SubjectDomainName", kDomain);
      recover("SubjectLogonId", kLogon);
      recover("SubjectUserSid", kSid);
    }
    r.names.clear();
    for (const auto& n : r.owned_names) r.names.emplace_back(n);
    if (auto v = parse_windows_int(in.version)) {
      r.version = static_cast<int>(*v);
    } else {
      // The largest known layout whose fields are all present.
      size_t best = 0;
      for (const auto& l : r.spec->layouts) {
        bool all = std::all_of(l.names.begin(), l.names.end(), [&](std::string_view n) { return r.value(n) != nullptr; });
        if (all && l.names.size() >= best) {
          best = l.names.size();
          r.version = l.version;
        }
      }
    }
  }
  return ok_status();
}

}  // namespace treeline::ingest
