#pragma once
// A finding as `hunt` writes it: a detection (one process and the rules of one action that
// matched it, or one Sigma rule on one event) or a coverage fact.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "detect/rule.hpp"

namespace treeline::detect {

// What a finding says of its rule: one, shared by every finding of that rule (a hunt holds
// many findings of few rules).
struct RuleText {
  std::string rule_id, title, severity, action, attack, log_id;
};

struct Finding {
  std::string kind = "detection";
  std::vector<const Rule*> rules;  // chain detections: highest severity first; none for a Sigma hit
  std::shared_ptr<const RuleText> rule;  // set once the finding is complete
  std::string host, process_key, detail, target_key, user, ip;
  std::optional<int64_t> time, logon_type;
  std::vector<int64_t> events;  // the events it rests on (a Sigma hit's, every event a correlation counted)
  nlohmann::ordered_json chain = nlohmann::ordered_json::array(), matched = nlohmann::ordered_json::object();
  // chain and matched as JSON text ("" for null) once compact() has frozen them: a hunt holds
  // every finding until it writes them, and the text takes a fraction of the documents' memory.
  std::string chain_text, matched_text;
  bool compacted = false;

  void compact();
  // The JSON text of chain and matched, compacted or not ("" for null).
  std::string chain_json() const;
  std::string matched_json() const;
};

}  // namespace treeline::detect
