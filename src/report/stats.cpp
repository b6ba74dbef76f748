#include "report/stats.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "store/query.hpp"

namespace treeline::report {
namespace {

struct SectionSql {
  const char* name;  // what --section takes
  const char* title;
  const char* sql;
};

// Hosts are grouped by short name: logs of one machine mix FQDN and short spellings.
constexpr SectionSql kSections[] = {
    {"sources", "Sources",
     "SELECT count(*) AS files, sum(status = 'complete') AS complete, sum(status = 'partial') AS partial, "
     "sum(size) AS bytes, sum(records_read) AS records_read, sum(records_new) AS records_new, "
     "sum(records_duplicate) AS duplicates, sum(records_recovered) AS recovered, "
     "sum(records_skipped) AS skipped, "
     "(SELECT count(*) FROM ingest_issues WHERE severity = 'warning') AS warnings FROM sources"},
    {"hosts", "Hosts",
     // The integers are aggregated, and only each host's first and last are formatted.
     "SELECT host, computer_names, events, "
     "strftime('%Y-%m-%dT%H:%M:%S', (first_ft - 116444736000000000) / 10000000, 'unixepoch') "
     "  || printf('.%07dZ', (first_ft - 116444736000000000) % 10000000) AS first_utc, "
     "strftime('%Y-%m-%dT%H:%M:%S', (last_ft - 116444736000000000) / 10000000, 'unixepoch') "
     "  || printf('.%07dZ', (last_ft - 116444736000000000) % 10000000) AS last_utc "
     "FROM (SELECT h.short_name AS host, group_concat(DISTINCT h.computer) AS computer_names, count(*) AS events, "
     "      min(e.time) AS first_ft, max(e.time) AS last_ft "
     "      FROM events e JOIN hosts h ON h.host_id = e.host_id GROUP BY h.short_name) ORDER BY host"},
    {"coverage", "Process auditing coverage (Security 4688)",
     "SELECT h.short_name AS host, count(pc.event_pk) AS records_4688, "
     "round(100.0 * sum(coalesce(pc.command_line, '') <> '') / nullif(count(pc.event_pk), 0), 1) AS command_line_pct, "
     "round(100.0 * sum(coalesce(pc.parent_process_name, '') <> '') / nullif(count(pc.event_pk), 0), 1) AS parent_name_pct, "
     "(SELECT group_concat(version, ',') FROM (SELECT DISTINCT e2.version FROM sec_process_create p2 "
     "   JOIN events e2 ON e2.event_pk = p2.event_pk JOIN hosts h2 ON h2.host_id = e2.host_id "
     "   WHERE h2.short_name = h.short_name ORDER BY e2.version)) AS versions "
     "FROM hosts h JOIN events e ON e.host_id = h.host_id "
     "LEFT JOIN sec_process_create pc ON pc.event_pk = e.event_pk "
     "GROUP BY h.short_name ORDER BY h.short_name"},
    {"events", "Events by host, channel and event id",
     "SELECT h.short_name AS host, c.name AS channel, e.event_id, count(*) AS records, "
     "sum(e.recovered) AS recovered "
     "FROM events e JOIN hosts h ON h.host_id = e.host_id JOIN channels c ON c.channel_id = e.channel_id "
     "GROUP BY h.short_name, c.name, e.event_id ORDER BY h.short_name, c.name, e.event_id"},
};

}  // namespace

Expected<std::vector<StatsSection>> collect_stats(store::Db& db, const std::vector<std::string>& only) {
  std::vector<StatsSection> out;
  for (const std::string& name : only)
    if (std::none_of(std::begin(kSections), std::end(kSections), [&](const SectionSql& s) { return name == s.name; }))
      return Error{ErrorCode::kUsage, fmt::format("stats: no section '{}' (the sections: {})", name, section_names())};
  for (const auto& s : kSections) {
    if (!only.empty() && std::find(only.begin(), only.end(), s.name) == only.end()) continue;
    auto t = store::run_query(db, s.sql);
    if (!t) return t.error();
    out.push_back({s.name, s.title, std::move(t.value())});
  }
  return out;
}

std::string section_names() {
  std::string names;
  for (const auto& s : kSections) names += std::string(names.empty() ? "" : ", ") + s.name;
  return names;
}

}  // namespace treeline::report
