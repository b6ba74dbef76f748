#include "report/ecs_export.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <string_view>
#include <vector>

#include "core/text.hpp"
#include "graph/state.hpp"

namespace treeline::report {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kEcsVersion = "9.5.0";

// Puts `value` at a dotted path of `doc` ("process.parent.pid" -> {"process": {"parent": {"pid": v}}}).
void put(Json& doc, std::string_view path, Json value) {
  Json* at = &doc;
  while (true) {
    auto dot = path.find('.');
    if (dot == std::string_view::npos) {
      (*at)[std::string(path)] = std::move(value);
      return;
    }
    at = &(*at)[std::string(path.substr(0, dot))];
    path.remove_prefix(dot + 1);
  }
}

Json column_value(store::Stmt& st, int i) {
  switch (sqlite3_column_type(st.get(), i)) {
    case SQLITE_INTEGER: return st.column_int(i);
    case SQLITE_FLOAT: return st.column_double(i);
    default: return st.column_text(i);
  }
}

const char* timestamp_desc(std::string_view document) {
  if (document == "process") return "Process Started";
  if (document == "finding") return "Alert";
  return "Event Recorded";
}

}  // namespace

Expected<ExportStats> export_documents(store::Db& db, std::ostream& out, const ExportOptions& o) {
  if (auto s = graph::require_current_graph(db); !s) return s.error();
  ExportStats stats;
  const std::string bulk = o.bulk_index.empty() ? "" : Json{{"index", {{"_index", o.bulk_index}}}}.dump() + "\n";
  std::string line;
  for (const char* view : {"ecs_events", "ecs_processes", "ecs_findings"}) {
    // In key order: the rowid's, so the export streams without a sort and is the same every run.
    auto st = db.prepare(fmt::format(
        "SELECT * FROM {} WHERE (?1 IS NULL OR \"_time_ft\" >= ?1) AND (?2 IS NULL OR \"_time_ft\" <= ?2) "
        "AND (?3 = '' OR \"host.name\" IN (SELECT computer FROM hosts WHERE short_name = ?3)) ORDER BY \"_key\"",
        view));
    if (!st) return st.error();
    st->bind_or_null(1, o.since);
    st->bind_or_null(2, o.until);
    st->bind(3, std::string_view(host_short_name(o.host)));
    const int n = sqlite3_column_count(st->get());
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) names.emplace_back(sqlite3_column_name(st->get(), i));
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) {
      Json doc = Json::object();
      std::string document;
      for (int i = 0; i < n; ++i) {
        if (st->column_is_null(i)) continue;
        const std::string& name = names[i];
        if (name == "_time_ft" || name == "_key") continue;
        if (name == "treeline.document") document = st->column_text(i);
        if (name == "_data") {
          // The event's data as it is kept: winlog.event_data (Timesketch: one flat key each).
          auto data = Json::parse(st->column_text(i), nullptr, false);
          if (!data.is_object()) continue;
          if (o.format == ExportFormat::kTimesketch)
            for (auto& [k, v] : data.items()) doc["winlog.event_data." + k] = v;
          else
            put(doc, "winlog.event_data", std::move(data));
          continue;
        }
        Json value = column_value(*st, i);
        if (name == "threat.technique.id") {
          // Several techniques: an array, as ECS has it.
          Json ids = Json::array();
          std::string all = value.get<std::string>();
          for (size_t at = 0; at <= all.size();) {
            size_t comma = all.find(',', at);
            std::string id(trim(std::string_view(all).substr(at, comma == std::string::npos ? std::string::npos : comma - at)));
            if (!id.empty()) ids.push_back(id);
            if (comma == std::string::npos) break;
            at = comma + 1;
          }
          value = std::move(ids);
        }
        if (o.format == ExportFormat::kTimesketch) {
          if (name == "@timestamp") doc["datetime"] = value;
          else doc[name] = std::move(value);
        } else {
          put(doc, name, std::move(value));
        }
      }
      if (o.format == ExportFormat::kTimesketch) {
        doc["timestamp_desc"] = timestamp_desc(document);
        if (!doc.contains("message")) doc["message"] = "";
      } else {
        put(doc, "ecs.version", kEcsVersion);
      }
      line = bulk;
      line += doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      line += '\n';
      out.write(line.data(), static_cast<std::streamsize>(line.size()));
      stats.bytes += static_cast<int64_t>(line.size());
      if (document == "event") ++stats.events;
      else if (document == "process") ++stats.processes;
      else ++stats.findings;
    }
    if (rc != SQLITE_DONE) return db.error(fmt::format("reading {}", view));
  }
  if (!out) return Error{ErrorCode::kIo, "writing the export failed (disk full?)"};
  return stats;
}

}  // namespace treeline::report
