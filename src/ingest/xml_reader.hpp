#pragma once
// Event XML as `wevtutil qe /f:xml` and `evtxexport -f xml` write it: many <Event> elements,
// with or without a root element, with or without text between them.
#include <istream>

#include "ingest/reader.hpp"

namespace treeline::ingest {

Expected<ReadStats> read_xml(std::istream& in, const RecordFn& on_record, const IssueFn& on_issue);

}  // namespace treeline::ingest
