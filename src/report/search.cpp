#include "report/search.hpp"

#include <fmt/format.h>

#include "core/regex.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "graph/state.hpp"
#include "store/query.hpp"

namespace treeline::report {
namespace {

// treeline_regexp(pattern, text): RE2 over SQLite's values, the compiled pattern kept as the
// statement's auxiliary data so each row does not compile it again.
void regexp_function(sqlite3_context* ctx, int, sqlite3_value** argv) {
  auto* re = static_cast<Regex*>(sqlite3_get_auxdata(ctx, 0));
  if (!re) {
    const auto* pattern = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
    auto compiled = Regex::compile(pattern ? pattern : "");
    if (!compiled) {
      sqlite3_result_error(ctx, compiled.error().message.c_str(), -1);
      return;
    }
    re = new Regex(std::move(*compiled));
    sqlite3_set_auxdata(ctx, 0, re, [](void* p) { delete static_cast<Regex*>(p); });
    re = static_cast<Regex*>(sqlite3_get_auxdata(ctx, 0));
    if (!re) {
      sqlite3_result_error_nomem(ctx);
      return;
    }
  }
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[1]));
  sqlite3_result_int(ctx, text && re->search(std::string_view(text, static_cast<size_t>(sqlite3_value_bytes(argv[1])))));
}

std::string like_pattern(std::string_view text) {
  std::string p = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') p += '\\';
    p += c;
  }
  return p + "%";
}

}  // namespace

Expected<SearchResult> search(store::Db& db, const SearchOptions& o) {
  if (auto s = graph::require_current_graph(db); !s) return s.error();
  if (o.text.empty()) return Error{ErrorCode::kUsage, "search: give a text to look for"};
  if (o.regex)
    if (auto re = Regex::compile(o.text); !re) return re.error();
  if (sqlite3_create_function_v2(db.get(), "treeline_regexp", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                 regexp_function, nullptr, nullptr, nullptr) != SQLITE_OK)
    return db.error("registering the search's regular expressions");
  // One test, on a value: ?1 is the pattern.
  const std::string test = o.regex ? "treeline_regexp(?1, {})" : "{} LIKE ?1 ESCAPE '\\'";
  // The event's first field that matches, as "Name=value" (NULL: none does).
  const std::string matched =
      o.field.empty()
          ? fmt::format("(SELECT j.key || '=' || j.value FROM json_each(d.data) j WHERE {} LIMIT 1)",
                        fmt::format(fmt::runtime(test), "j.value"))
          : fmt::format("CASE WHEN {} THEN ?6 || '=' || json_extract(d.data, '$.\"' || ?6 || '\"') END",
                        fmt::format(fmt::runtime(test), "json_extract(d.data, '$.\"' || ?6 || '\"')"));
  const bool processes = o.field.empty() || o.field == "CommandLine";
  const std::string sql = fmt::format(
      "SELECT * FROM ("
      "SELECT e.time AS time_ft, h.short_name AS host, 'event' AS kind, e.event_id, c.name AS channel, "
      "       s.path AS source_path, e.record_id, NULL AS process_key, {0} AS matched "
      "FROM events e JOIN event_data d ON d.event_pk = e.event_pk JOIN hosts h ON h.host_id = e.host_id "
      "JOIN channels c ON c.channel_id = e.channel_id JOIN sources s ON s.source_id = e.source_id "
      "WHERE (?2 = '' OR h.short_name = ?2) AND (?3 IS NULL OR e.time >= ?3) AND (?4 IS NULL OR e.time <= ?4) "
      "  AND (?5 IS NULL OR e.event_id = ?5) "
      "{1}) WHERE matched IS NOT NULL ORDER BY time_ft, host, kind, record_id LIMIT ?7",
      matched,
      processes ? fmt::format(
                      "UNION ALL SELECT p.start_time, p.host, 'process', NULL, NULL, NULL, NULL, p.process_key, p.command_line "
                      "FROM processes p WHERE p.command_line IS NOT NULL AND {} AND (?2 = '' OR p.host = ?2) "
                      "AND (?3 IS NULL OR p.start_time >= ?3) AND (?4 IS NULL OR p.start_time <= ?4) AND ?5 IS NULL",
                      fmt::format(fmt::runtime(test), "p.command_line"))
                : std::string());
  std::vector<Cell> params = {o.regex ? o.text : like_pattern(o.text), host_short_name(o.host),
                              o.since ? Cell{*o.since} : Cell{}, o.until ? Cell{*o.until} : Cell{},
                              o.event_id ? Cell{*o.event_id} : Cell{}, o.field, Cell{o.limit + 1}};
  auto t = store::run_query(db, sql, params);
  if (!t) return t.error();
  SearchResult r;
  r.truncated = static_cast<int64_t>(t->rows.size()) > o.limit;
  if (r.truncated) t->rows.resize(static_cast<size_t>(o.limit));
  // The time as text, the rest as found.
  r.table.columns = {"time_utc", "host", "kind", "event_id", "channel", "source_path", "record_id", "process_key", "matched"};
  for (auto& row : t->rows) {
    row[0] = std::holds_alternative<int64_t>(row[0]) ? Cell{filetime_to_iso(std::get<int64_t>(row[0]))} : Cell{};
    r.table.rows.push_back(std::move(row));
  }
  return r;
}

}  // namespace treeline::report
