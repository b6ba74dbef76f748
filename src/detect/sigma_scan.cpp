#include "detect/sigma_scan.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <unordered_map>

#include "core/text.hpp"
#include "core/vocabulary.hpp"
#include "detect/sigma_logsource.hpp"
#include "detect/sigma_prefilter.hpp"

namespace treeline::detect::sigma {
namespace {

// "0x1f4" as Sysmon writes it: "500". Text that is no number stays as it is.
std::string decimal_pid(const std::string& text) {
  auto v = parse_windows_int(text);
  return v ? std::to_string(*v) : text;
}

class EventFields : public FieldSource, public nlohmann::json_sax<nlohmann::json> {
 public:
  void reset(const std::string& channel, const std::string& provider, int64_t event_id, const std::string& computer,
             const std::string& data) {
    count_ = 0;
    put("EventID", std::to_string(event_id));
    put("Channel", channel);
    put("Provider_Name", provider);
    put("Computer", computer);
    // Read without building a document: each value goes straight into a reused slot. A repeated
    // name (an array) gives one slot per value: keywords search each, the field reads as the first.
    if (!data.empty()) {
      depth_ = 0;
      nlohmann::json::sax_parse(data, this, nlohmann::json::input_format_t::json, false);
    }
    if (channel == "Security" && event_id == 4688) add_4688_names();
  }

  std::optional<std::string_view> field(std::string_view name) const override {
    for (size_t i = 0; i < count_; ++i)
      if (fields_[i].first == name) return std::string_view(fields_[i].second);
    return std::nullopt;
  }
  bool any_value(const std::function<bool(std::string_view)>& fn) const override {
    for (size_t i = 0; i < count_; ++i)
      if (fn(fields_[i].second)) return true;
    return false;
  }

  // The field's value, empty when the event does not have it.
  std::string get(std::string_view name) const {
    auto v = field(name);
    return v ? std::string(*v) : std::string();
  }

  // A field the event does not have, from elsewhere (the process tree).
  void add_missing(std::string_view name, std::string_view value) {
    if (!field(name)) put(name, value);
  }

  // json_sax: the data object's members, one level of arrays.
  bool null() override { return value("null"); }
  bool boolean(bool v) override { return value(v ? "true" : "false"); }
  bool number_integer(int64_t v) override { return value(std::to_string(v)); }
  bool number_unsigned(uint64_t v) override { return value(std::to_string(v)); }
  bool number_float(double, const std::string& raw) override { return value(raw); }
  bool string(std::string& v) override { return value(v); }
  bool binary(nlohmann::json::binary_t&) override { return true; }
  bool start_object(std::size_t) override { return ++depth_ <= 1; }
  bool end_object() override { --depth_; return true; }
  bool start_array(std::size_t) override { return ++depth_ <= 2; }
  bool end_array() override { --depth_; return true; }
  bool key(std::string& k) override { key_ = k; return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  bool value(std::string_view v) {
    if (depth_ >= 1) put(key_, v);
    return true;
  }
  void put(std::string_view name, std::string_view value) {
    if (count_ == fields_.size()) fields_.emplace_back();
    fields_[count_].first.assign(name);
    fields_[count_].second.assign(value);
    ++count_;
  }
  void alias(const char* name, std::string value) {
    if (!field(name)) put(name, value);
  }
  void add_4688_names() {
    if (auto v = field("NewProcessName")) alias("Image", std::string(*v));
    if (auto v = field("ParentProcessName")) alias("ParentImage", std::string(*v));
    // A 4688's ProcessId is the creator's; Sysmon's is the new process's, and the creator's is
    // ParentProcessId. Both in decimal, as Sysmon writes them.
    std::string creator = get("ProcessId"), created = get("NewProcessId");
    if (!creator.empty()) alias("ParentProcessId", decimal_pid(creator));
    if (!created.empty()) {
      auto it = std::find_if(fields_.begin(), fields_.begin() + static_cast<std::ptrdiff_t>(count_),
                             [](const auto& f) { return f.first == "ProcessId"; });
      if (it != fields_.begin() + static_cast<std::ptrdiff_t>(count_)) it->second = decimal_pid(created);
      else put("ProcessId", decimal_pid(created));
    }
    std::string target_user = get("TargetUserName");
    if (!target_user.empty() && target_user != "-")
      alias("User", get("TargetDomainName") + "\\" + target_user);
    else if (auto u = field("SubjectUserName"))
      alias("User", get("SubjectDomainName") + "\\" + std::string(*u));
    // Sysmon writes mandatory labels as words; a 4688 as SIDs.
    if (auto v = field("MandatoryLabel")) {
      std::string_view level = integrity_level_name(*v);
      alias("IntegrityLevel", std::string(level.empty() ? *v : level));
    }
    std::string target_logon = get("TargetLogonId");
    alias("LogonId", !target_logon.empty() && target_logon != "0x0" ? target_logon : get("SubjectLogonId"));
  }

  std::vector<std::pair<std::string, std::string>> fields_;  // the first count_ are this event's
  size_t count_ = 0;
  int depth_ = 0;
  std::string key_;
};

// The fields a rule tests by name, in the order it names them, each once.
std::vector<std::string> tested_fields(const SigmaRule& rule) {
  std::vector<std::string> out;
  for (const auto& s : rule.searches)
    for (const auto& all : s.any_of)
      for (const auto& c : all)
        if (!c.field.empty() && std::find(out.begin(), out.end(), c.field) == out.end()) out.push_back(c.field);
  return out;
}

// A hit of rule `r` on the event the statement is on and `fields` hold.
SigmaHit make_hit(size_t r, const SigmaRule& rule, const store::Stmt& st, const EventFields& fields,
                  const std::vector<std::string>& tested) {
  SigmaHit h;
  h.rule = r;
  h.event_pk = st.column_int(0);
  h.channel = st.column_text(1);
  h.event_id = st.column_int(3);
  h.host = st.column_text(6);
  h.time = st.column_int(7);
  h.record_id = st.column_int(8);
  h.recovered = st.column_int(9) != 0;
  const bool access = h.event_id == 10 && h.channel != "Security";  // Sysmon's process access
  h.process_guid = fields.get(access ? "SourceProcessGuid" : "ProcessGuid");
  h.process_id = fields.get(access ? "SourceProcessId" : "ProcessId");
  for (const auto& name : tested)
    if (auto v = fields.field(name)) h.matched.emplace_back(name, std::string(*v));
  for (const auto& name : rule.captured)
    if (auto v = fields.field(name)) h.captured.emplace_back(name, std::string(*v));
  return h;
}

}  // namespace

Expected<ScanReport> scan_case(store::Db& db, const SigmaSet& set, const Enrich& enrich) {
  ScanReport report;
  std::vector<std::vector<std::string>> tested(set.rules.size());
  for (size_t i = 0; i < set.rules.size(); ++i) tested[i] = tested_fields(set.rules[i]);
  // Rules grouped by the events their logsource means: each group's events are read once.
  std::map<std::string, std::pair<LogsourceEvents, std::vector<size_t>>> groups;
  for (size_t i = 0; i < set.rules.size(); ++i) {
    auto events = logsource_events(set.rules[i].logsource);
    if (!events) {
      report.rules_without_events.push_back(i);
      continue;
    }
    auto& g = groups[events->key];
    g.first = *events;
    g.second.push_back(i);
  }
  EventFields fields;
  for (const auto& [key, group] : groups) {
    // Each event is tried only against the rules its EventID allows, and of those only the ones
    // whose necessary literals it holds (sigma_prefilter.hpp).
    struct Bucket {
      std::vector<size_t> rules;
      std::optional<Prefilter> prefilter;
    };
    Bucket any_id;
    std::unordered_map<int64_t, Bucket> by_id;
    for (size_t r : group.second) {
      if (!set.rules[r].event_ids) any_id.rules.push_back(r);
      else
        for (int64_t id : *set.rules[r].event_ids) by_id[id].rules.push_back(r);
    }
    auto ready = [&](Bucket& b) -> Bucket& {
      if (!b.prefilter) {
        std::vector<const SigmaRule*> rules;
        for (size_t r : b.rules) rules.push_back(&set.rules[r]);
        b.prefilter.emplace(rules);
      }
      return b;
    };
    std::vector<size_t> candidates;
    std::vector<size_t> to_run;
    for (const EventSource& source : group.first.sources) {
      std::string ids;
      for (uint32_t id : source.event_ids) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
      auto st = db.prepare(fmt::format(
          "SELECT event_pk, channel, coalesce(provider, ''), event_id, host, coalesce(data, ''), host_short, time_ft, "
          "record_id, recovered FROM events_v "
          "WHERE channel = ?1{} ORDER BY event_pk",
          ids.empty() ? "" : fmt::format(" AND event_id IN ({})", ids)));
      if (!st) return st.error();
      st->bind(1, std::string_view(source.channel));
      int rc;
      while ((rc = st->step()) == SQLITE_ROW) {
        ++report.events_scanned;
        fields.reset(st->column_text(1), st->column_text(2), st->column_int(3), st->column_text(4), st->column_text(5));
        const int64_t id = st->column_int(3);
        if (enrich && ((id == 4688 && source.channel == "Security") ||
                       (id == 1 && source.channel == "Microsoft-Windows-Sysmon/Operational")))
          enrich(st->column_int(0), [&](std::string_view name, std::string_view value) { fields.add_missing(name, value); });
        to_run.clear();
        auto with_id = by_id.find(st->column_int(3));
        for (Bucket* b : {&any_id, with_id == by_id.end() ? nullptr : &with_id->second}) {
          if (!b || b->rules.empty()) continue;
          ready(*b).prefilter->candidates(fields, candidates);
          for (size_t c : candidates) to_run.push_back(b->rules[c]);
        }
        report.evaluations += static_cast<int64_t>(to_run.size());
        for (size_t r : to_run)
          if (set.rules[r].matches(fields)) report.hits.push_back(make_hit(r, set.rules[r], *st, fields, tested[r]));
      }
      if (rc != SQLITE_DONE) return db.error("reading events for Sigma rules");
    }
  }
  std::sort(report.hits.begin(), report.hits.end(),
            [](const SigmaHit& a, const SigmaHit& b) { return std::tie(a.rule, a.event_pk) < std::tie(b.rule, b.event_pk); });
  return report;
}

}  // namespace treeline::detect::sigma
