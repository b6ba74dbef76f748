// Coverage findings: what the logs cannot show, one embedded query per fact.
#include <string>

#include "detect/hunt_parts.hpp"

namespace treeline::coverage_files {
const std::vector<std::pair<std::string_view, std::string_view>>& embedded_files();
}

namespace treeline::detect {

Status add_coverage(store::Db& db, std::vector<Finding>& out) {
  for (const auto& [name, sql] : coverage_files::embedded_files()) {
    auto st = db.prepare(sql);
    if (!st) return st.error();
    auto text = [&](int i) { return st->column_is_null(i) ? std::string() : st->column_text(i); };
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) {
      Finding c;
      c.kind = "coverage";
      c.rule = std::make_shared<const RuleText>(RuleText{text(0), text(1), text(2), text(3), text(4), ""});
      c.host = text(5);
      if (!st->column_is_null(6)) c.time = st->column_int(6);
      c.detail = text(7);
      c.user = text(8);
      c.chain = nullptr;
      c.matched = nullptr;
      out.push_back(std::move(c));
    }
    if (rc != SQLITE_DONE) return db.error("reading the audit coverage (" + std::string(name) + ")");
  }
  return ok_status();
}

}  // namespace treeline::detect
