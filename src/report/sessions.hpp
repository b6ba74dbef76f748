#pragma once
// `treeline sessions`: the logon sessions of the graph, with the first processes each started.
#include <string>

#include "core/table.hpp"
#include "store/sqlite.hpp"

namespace treeline::report {

// Refuses (kStale) when the graph does not match the events.
Expected<Table> sessions_table(store::Db& db, const std::string& host);

}  // namespace treeline::report
