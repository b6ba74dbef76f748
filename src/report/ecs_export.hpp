#pragma once
// `treeline export`: the case's ECS documents (the ecs_* views) as NDJSON, streamed: every event
// (Winlogbeat's winlog.* layout with winlog.event_data), every logged process, every finding
// (event.kind alert). Or Timesketch's JSONL (message, datetime, timestamp_desc, flat fields).
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "core/expected.hpp"
#include "store/sqlite.hpp"

namespace treeline::report {

enum class ExportFormat { kEcs, kTimesketch };

struct ExportOptions {
  ExportFormat format = ExportFormat::kEcs;
  std::string bulk_index;            // not empty: an Elasticsearch _bulk action line before each document
  std::optional<int64_t> since, until;  // FILETIME bounds of @timestamp
  std::string host;                  // short or full name
};

struct ExportStats {
  int64_t events = 0, processes = 0, findings = 0, bytes = 0;
};

Expected<ExportStats> export_documents(store::Db& db, std::ostream& out, const ExportOptions& options);

}  // namespace treeline::report
