#pragma once
// The timeline's `summary`: one short line per event from its key fields, by a template per
// channel and event id kept as data (summaries/events.tsv, embedded at build time).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace treeline::report {

class SummaryTemplate {
 public:
  // "{Name}" is a data field, "[ ... ]" is dropped when a field inside it is missing or empty.
  static SummaryTemplate parse(std::string_view text);
  // The line for an event whose events_v.data is `data_json` (a JSON object).
  std::string render(std::string_view data_json) const;

 private:
  struct Piece {
    std::string text;  // literal, or the field's name
    bool field = false;
    int group = -1;  // index of the optional group it belongs to, or -1
  };
  std::vector<Piece> pieces_;
  int groups_ = 0;
};

// The template for an event, if summaries/events.tsv has one.
const SummaryTemplate* find_summary(std::string_view channel, uint32_t event_id);
// The event ids that have a template in any channel (for the timeline's join).
std::vector<uint32_t> summary_event_ids();

// Longest summary, in terminal columns.
constexpr size_t kSummaryWidth = 200;

}  // namespace treeline::report
