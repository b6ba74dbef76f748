// The findings table: written whole by each hunt, in the order the analyst reads them.
#include <algorithm>
#include <tuple>

#include "core/vocabulary.hpp"
#include "detect/hunt_parts.hpp"
#include "store/sqlite.hpp"

namespace treeline::detect {

std::string Finding::chain_json() const {
  if (compacted) return chain_text;
  return chain.is_null() ? "" : chain.dump();
}

std::string Finding::matched_json() const {
  if (compacted) return matched_text;
  // Event text is not always valid UTF-8: a bad byte becomes U+FFFD, not an exception.
  return matched.is_null() ? "" : matched.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Finding::compact() {
  if (compacted) return;
  chain_text = chain_json();
  matched_text = matched_json();
  chain = nullptr;
  matched = nullptr;
  compacted = true;
}

void sort_findings(std::vector<Finding>& all) {
  std::stable_sort(all.begin(), all.end(), [](const Finding& a, const Finding& b) {
    // References, not copies: the sort compares millions of times.
    auto key = [](const Finding& f) {
      return std::make_tuple(-severity_rank(f.rule->severity), !f.time.has_value(), f.time.value_or(0),
                             std::cref(f.host), f.kind != "detection", std::cref(f.rule->rule_id),
                             std::cref(f.process_key));
    };
    return key(a) < key(b);
  });
}

Status write_findings(store::Db& db, const std::vector<Finding>& all) {
  auto tx = store::Transaction::begin(db, "writing the findings");
  if (!tx) return tx.error();
  if (auto s = db.exec("DELETE FROM finding_events; DELETE FROM findings"); !s) return s;
  auto ins = db.prepare(
      "INSERT INTO findings (finding_id, kind, rule_id, title, severity, action, attack, log_id, host, time, "
      "process_key, chain, matched, detail, target_key, user_name, logon_type, ip_address, rule_ids) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!ins) return ins.error();
  auto ins_event = db.prepare("INSERT OR IGNORE INTO finding_events (finding_id, event_pk) VALUES (?, ?)");
  if (!ins_event) return ins_event.error();
  auto put = [&](int i, const std::string& v) { ins->bind_text_or_null(i, v); };
  int64_t id = 0;
  for (const Finding& f : all) {
    ins->reset();
    ins->bind(1, ++id);
    put(2, f.kind);
    const RuleText& r = *f.rule;
    put(3, r.rule_id);
    put(4, r.title);
    put(5, r.severity);
    put(6, r.action);
    put(7, r.attack);
    put(8, r.log_id);
    put(9, f.host);
    ins->bind_or_null(10, f.time);
    put(11, f.process_key);
    put(12, f.chain_json());
    put(13, f.matched_json());
    put(14, f.detail);
    put(15, f.target_key);
    put(16, f.user);
    ins->bind_or_null(17, f.logon_type);
    put(18, f.ip);
    std::string ids;
    for (const Rule* each : f.rules) ids += (ids.empty() ? "" : ",") + each->id;
    // A Sigma hit and a coverage fact are one rule each; a chain detection lists its rules.
    put(19, f.rules.empty() ? r.rule_id : ids);
    if (ins->step() != SQLITE_DONE) return db.error("writing a finding");
    for (int64_t e : f.events) {
      ins_event->reset();
      ins_event->bind(1, id);
      ins_event->bind(2, e);
      if (ins_event->step() != SQLITE_DONE) return db.error("writing a finding's events");
    }
  }
  return tx->commit();
}

}  // namespace treeline::detect
