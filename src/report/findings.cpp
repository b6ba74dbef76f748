#include "report/findings.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/text.hpp"
#include "store/query.hpp"
#include "core/vocabulary.hpp"

namespace treeline::report {
namespace {

// "System(4) > smss.exe(284) > … > cmd.exe(316)": the path from the root to the process, one
// indexed lookup per level. A table shows the nearest four, so the flagged process is never the
// part that is cut.
// A process's ancestry as "… > cmd.exe(268) > WMIC.exe(272) ⇒ srv02:WmiPrvSE.exe(260) > cmd.exe(276)":
// at the first process of a logon that a process on another host opened (session_links), the
// walk shows that local parent and then goes on from the remote source.
class Ancestry {
 public:
  explicit Ancestry(store::Db& db) : db_(db) {}
  Expected<std::string> of(const std::string& key, size_t keep) {
    if (!up_) {
      auto st = db_.prepare(
          "SELECT e.parent_key, p.image, p.pid, p.host, l.source_process_key, "
          "coalesce(pp.session_key, '') <> coalesce(p.session_key, ''), pp.image, pp.pid FROM processes p "
          "LEFT JOIN process_edges e ON e.child_key = p.process_key "
          "LEFT JOIN processes pp ON pp.process_key = e.parent_key "
          "LEFT JOIN session_links l ON l.session_key = p.session_key AND l.source_process_key IS NOT NULL "
          "WHERE p.process_key = ?1");
      if (!st) return st.error();
      up_ = std::move(*st);
    }
    auto name = [](const std::string& image, int64_t pid) {
      return fmt::format("{}({})", image.empty() ? "?" : std::string(base_name(image)), pid);
    };
    // Youngest first; `join` is what stands between a part and the younger one after it.
    struct Part {
      std::string text, join = " > ";
    };
    std::vector<Part> parts;
    std::string host;
    bool jumped = false;  // the next part is the remote source
    for (std::string k = key; !k.empty() && parts.size() < 64;) {
      up_.reset();
      up_.bind(1, std::string_view(k));
      if (up_.step() != SQLITE_ROW) break;
      const std::string here = up_.column_text(3);
      std::string text = name(up_.column_text(1), up_.column_int(2));
      // A process on another host than the finding's says which.
      if (!host.empty() && here != host) text = here + ":" + text;
      if (host.empty()) host = here;
      parts.push_back({text, jumped ? " ⇒ " : " > "});
      jumped = false;
      k = up_.column_is_null(0) ? "" : up_.column_text(0);
      if (!up_.column_is_null(4) && up_.column_int(5)) {
        // The logon's first process: its local parent, then the process that opened the logon.
        if (!up_.column_is_null(0)) parts.push_back({name(up_.column_text(6), up_.column_int(7))});
        jumped = true;
        k = up_.column_text(4);
        host = "-";  // from here on every part names its host
      }
    }
    std::string s = parts.size() > keep ? "… > " : "";
    for (size_t i = std::min(keep, parts.size()); i-- > 0;) s += parts[i].text + (i ? parts[i].join : "");
    return s;
  }

 private:
  store::Db& db_;
  store::Stmt up_;
};


nlohmann::ordered_json as_json(const Cell& c) {
  if (auto* n = std::get_if<int64_t>(&c)) return *n;
  if (auto* s = std::get_if<std::string>(&c)) return *s;
  return nullptr;
}

}  // namespace

Expected<size_t> write_findings(std::ostream& out, store::Db& db, Format format, const FindingsOptions& o) {
  auto st = db.prepare(
      "SELECT finding_id, kind, severity, time_utc, host, action, attack, rule_id, title, pid, image, command_line, "
      "user_name, logon_type, ip_address, detail, process_key, target_key, chain, matched, rule_ids "
      "FROM findings_v WHERE (?1 = '' OR host = ?1) AND (?2 IS NULL OR time_ft >= ?2) AND (?3 IS NULL OR time_ft <= ?3) "
      "ORDER BY finding_id");
  if (!st) return st.error();
  st->bind(1, std::string_view(host_short_name(o.host)));
  st->bind_or_null(2, o.since);
  st->bind_or_null(3, o.until);
  const std::vector<std::string> kColumns = {
      "finding_id", "kind", "severity", "time_utc", "host", "action", "attack", "rule_id", "title", "pid", "image",
      "command_line", "user_name", "logon_type", "ip_address", "detail", "process_key", "target_key", "chain",
      "matched", "rule_ids", "ancestry"};
  std::optional<RowWriter> w;
  if (format == Format::kTable) {
    // What a reader needs first, to the second, with room for the title: the action and ATT&CK
    // ids are in csv and json, where a SIEM reads them.
    TableStyle style = o.style;
    style.keep_width.emplace_back("title", 36);
    w.emplace(out, std::vector<std::string>{"id", "severity", "time_utc", "host", "title", "ancestry", "user", "detail"},
              format, style);
  } else if (format == Format::kCsv) {
    w.emplace(out, kColumns, format, o.style);
  }
  Ancestry ancestry(db);
  size_t n = 0;
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    if (severity_rank(st->column_text(2)) < severity_rank(o.min_severity)) continue;
    std::vector<Cell> r;
    for (int i = 0; i < 21; ++i) r.push_back(store::column_cell(*st, i));
    std::string key = cell_text(r[16]);
    size_t keep = format == Format::kTable && !o.full ? 4 : 64;
    auto path = key.empty() ? Expected<std::string>(std::string()) : ancestry.of(key, keep);
    if (!path) return path.error();
    r.push_back(*path);
    if (format == Format::kTable) {
      std::string when = cell_text(r[3]);
      if (when.size() >= 19) when = when.substr(0, 10) + " " + when.substr(11, 8);
      w->row({r[0], r[2], when, r[4], r[8], r[21], r[12], r[15]});
    } else if (format == Format::kCsv) {
      w->row(r);
    } else {
      nlohmann::ordered_json j;
      for (size_t i = 0; i < kColumns.size(); ++i) j[kColumns[i]] = as_json(r[i]);
      // chain and matched are JSON in the case: nested here, not strings holding JSON.
      for (const char* k : {"chain", "matched"})
        if (j[k].is_string()) j[k] = nlohmann::ordered_json::parse(j[k].get<std::string>(), nullptr, false);
      auto ids = cell_text(r[20]);
      j["rule_ids"] = nlohmann::ordered_json::array();
      for (size_t p = 0; !ids.empty() && p <= ids.size();) {
        size_t c = ids.find(',', p);
        j["rule_ids"].push_back(ids.substr(p, c == std::string::npos ? std::string::npos : c - p));
        p = c == std::string::npos ? ids.size() + 1 : c + 1;
      }
      out << (n ? ",\n  " : "[\n  ") << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    ++n;
  }
  if (rc != SQLITE_DONE) return db.error("reading the findings");
  if (w) w->finish();
  else out << (n ? "\n]\n" : "[]\n");
  return n;
}

}  // namespace treeline::report
