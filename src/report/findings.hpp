#pragma once
// The findings of the last hunt as `treeline hunt` prints them: in finding-id order (severity,
// then time), each with the ancestry of its process. JSON keeps chain and matched as JSON.
#include <optional>
#include <ostream>
#include <string>

#include "report/format.hpp"
#include "store/sqlite.hpp"

namespace treeline::report {

struct FindingsOptions {
  std::string min_severity = "informational";
  bool full = false;  // whole ancestry and cells (--wide)
  std::string host;   // only this host's (short or full name)
  std::optional<int64_t> since, until;  // only findings at or after / at or before (FILETIME)
  TableStyle style;
};

Expected<size_t> write_findings(std::ostream& out, store::Db& db, Format format, const FindingsOptions& options);

}  // namespace treeline::report
