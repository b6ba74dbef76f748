#pragma once
// One event's fields by their Sigma names (detect-internal, for the scan): the data read by SAX
// into reused slots, the System fields, and for a 4688 the Sysmon names of process_creation.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/text.hpp"
#include "core/vocabulary.hpp"
#include "detect/sigma_value.hpp"

namespace treeline::detect::sigma {

// "0x1f4" as Sysmon writes it: "500". Text that is no number stays as it is.
inline std::string decimal_pid(const std::string& text) {
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

}  // namespace treeline::detect::sigma
