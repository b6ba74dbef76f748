// RE2::Set against Hyperscan for the Sigma prefilter: the literals every process_creation rule
// needs (sigma_prefilter's necessary_needles), one multi-pattern set per field, matched against
// the field values of a case's process creations. Prints compile time, memory, match time and
// whether the two engines admit the same patterns for every value.
//   usage: prefilter_bench RULES_DIR CASE.db [REPEAT]
#include <fmt/format.h>
#include <hs/hs.h>
#include <re2/re2.h>
#include <re2/set.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "detect/sigma_event_fields.hpp"
#include "detect/sigma_logsource.hpp"
#include "detect/sigma_prefilter.hpp"
#include "detect/sigma_rule.hpp"
#include "store/case_db.hpp"

using namespace treeline;
using namespace treeline::detect::sigma;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

// A needle as a regular expression both engines read the same way: \A and \z anchor the whole
// value (Hyperscan's $ would also match before a final newline).
std::string pattern_of(const Needle& n) {
  using K = ValueMatcher::Kind;
  const bool start = n.kind == K::kExact || n.kind == K::kPrefix, end = n.kind == K::kExact || n.kind == K::kSuffix;
  return std::string(start ? "\\A" : "") + RE2::QuoteMeta(n.text) + (end ? "\\z" : "");
}

struct FieldPatterns {
  std::vector<std::string> patterns;
  std::vector<bool> cased;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s RULES_DIR CASE.db [REPEAT]\n", argv[0]);
    return 2;
  }
  const int repeat = argc > 3 ? std::atoi(argv[3]) : 3;
  SigmaSet set = load_sigma({argv[1]});
  // The process_creation rules' needles, per field, each pattern once.
  std::map<std::string, FieldPatterns> fields;
  std::map<std::string, std::set<std::string>> seen;
  size_t rules = 0, with_needles = 0;
  for (const auto& r : set.rules) {
    if (r.logsource.category != "process_creation") continue;
    ++rules;
    auto needles = necessary_needles(r);
    if (!needles) continue;
    ++with_needles;
    for (const auto& n : *needles) {
      std::string p = (n.cased ? "" : "(?i)") + pattern_of(n);
      if (!seen[n.field].insert(p).second) continue;
      fields[n.field].patterns.push_back(pattern_of(n));
      fields[n.field].cased.push_back(n.cased);
    }
  }
  size_t patterns = 0;
  for (const auto& [f, fp] : fields) patterns += fp.patterns.size();
  fmt::print("{} process_creation rules, {} with needles: {} patterns over {} fields\n", rules, with_needles, patterns,
             fields.size());

  // The values: every process creation's fields that some pattern is on.
  auto db = store::open_case_read_only(argv[2]);
  if (!db) {
    std::fprintf(stderr, "%s\n", db.error().message.c_str());
    return 1;
  }
  auto st = db->prepare(
      "SELECT channel, coalesce(provider, ''), event_id, host, coalesce(data, '') FROM events_v "
      "WHERE (channel = 'Security' AND event_id = 4688) OR (channel = 'Microsoft-Windows-Sysmon/Operational' AND "
      "event_id = 1)");
  if (!st) return 1;
  std::map<std::string, std::vector<std::string>> values;
  size_t events = 0, bytes = 0;
  EventFields ef;
  while (st->step() == SQLITE_ROW) {
    ++events;
    ef.reset(st->column_text(0), st->column_text(1), st->column_int(2), st->column_text(3), st->column_text(4));
    for (const auto& [f, fp] : fields)
      if (auto v = ef.field(f)) {
        values[f].emplace_back(*v);
        bytes += v->size();
      }
  }
  fmt::print("{} process creations: {} MB of field values\n", events, bytes >> 20);

  // RE2::Set, as the prefilter builds it.
  long before = rss_kib();
  auto t = Clock::now();
  std::map<std::string, std::unique_ptr<RE2::Set>> re2_sets;
  for (const auto& [f, fp] : fields) {
    RE2::Options o;
    o.set_encoding(RE2::Options::EncodingLatin1);
    o.set_max_mem(int64_t{64} << 20);
    o.set_log_errors(false);
    auto s = std::make_unique<RE2::Set>(o, RE2::UNANCHORED);
    for (size_t i = 0; i < fp.patterns.size(); ++i) s->Add((fp.cased[i] ? "" : "(?i)") + fp.patterns[i], nullptr);
    if (!s->Compile()) fmt::print("RE2::Set for {} does not compile\n", f);
    re2_sets[f] = std::move(s);
  }
  const double re2_compile = seconds_since(t);
  // Hyperscan, block mode, one database per field; each pattern reports once per value.
  t = Clock::now();
  std::map<std::string, hs_database_t*> hs_dbs;
  hs_scratch_t* scratch = nullptr;
  size_t hs_bytes = 0;
  for (const auto& [f, fp] : fields) {
    std::vector<const char*> exprs;
    std::vector<unsigned> flags, ids;
    for (size_t i = 0; i < fp.patterns.size(); ++i) {
      exprs.push_back(fp.patterns[i].c_str());
      flags.push_back(HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY | (fp.cased[i] ? 0u : HS_FLAG_CASELESS));
      ids.push_back(static_cast<unsigned>(i));
    }
    hs_database_t* hdb = nullptr;
    hs_compile_error_t* err = nullptr;
    if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK,
                         nullptr, &hdb, &err) != HS_SUCCESS) {
      fmt::print("Hyperscan for {} does not compile: {}\n", f, err ? err->message : "?");
      hs_free_compile_error(err);
      continue;
    }
    size_t n = 0;
    hs_database_size(hdb, &n);
    hs_bytes += n;
    hs_alloc_scratch(hdb, &scratch);
    hs_dbs[f] = hdb;
  }
  size_t scratch_bytes = 0;
  if (scratch) hs_scratch_size(scratch, &scratch_bytes);
  const double hs_compile = seconds_since(t);
  const long after_compile = rss_kib();

  // Matching: every value of every field, `repeat` times, one engine after the other (RSS after
  // each says what its match-time state costs); the admitted pattern sets are compared.
  std::vector<std::vector<int>> re2_first;
  size_t re2_total = 0, hs_total = 0, differ = 0;
  double re2_time = 0, hs_time = 0;
  std::vector<int> re2_hits;
  for (int round = 0; round < repeat; ++round)
    for (const auto& [f, vs] : values) {
      RE2::Set& rs = *re2_sets[f];
      for (const auto& v : vs) {
        auto t0 = Clock::now();
        re2_hits.clear();
        rs.Match(re2::StringPiece(v.data(), v.size()), &re2_hits);
        re2_time += seconds_since(t0);
        if (round == 0) {
          re2_total += re2_hits.size();
          re2_first.push_back(re2_hits);
        }
      }
    }
  const long after_re2 = rss_kib();
  std::vector<unsigned> hs_hits;
  for (int round = 0; round < repeat; ++round) {
    size_t k = 0;
    for (const auto& [f, vs] : values) {
      auto hit = hs_dbs.find(f);
      for (const auto& v : vs) {
        auto t0 = Clock::now();
        hs_hits.clear();
        if (hit != hs_dbs.end())
          hs_scan(hit->second, v.data(), static_cast<unsigned>(v.size()), 0, scratch,
                  [](unsigned id, unsigned long long, unsigned long long, unsigned, void* ctx) {
                    static_cast<std::vector<unsigned>*>(ctx)->push_back(id);
                    return 0;
                  },
                  &hs_hits);
        hs_time += seconds_since(t0);
        if (round == 0) {
          hs_total += hs_hits.size();
          std::set<unsigned> a(re2_first[k].begin(), re2_first[k].end()), b(hs_hits.begin(), hs_hits.end());
          if (a != b) ++differ;
        }
        ++k;
      }
    }
  }
  const double mb = static_cast<double>(bytes) / (1 << 20) * repeat;
  fmt::print("engine      compile   matching (x{})   MB/s    memory\n", repeat);
  fmt::print("RE2::Set    {:6.2f} s   {:6.2f} s        {:7.1f}  (DFA states built as they are needed)\n", re2_compile,
             re2_time, mb / re2_time);
  fmt::print("Hyperscan   {:6.2f} s   {:6.2f} s        {:7.1f}  {:.1f} MB databases + {:.1f} MB scratch\n", hs_compile,
             hs_time, mb / hs_time, static_cast<double>(hs_bytes) / (1 << 20),
             static_cast<double>(scratch_bytes) / (1 << 20));
  fmt::print("RSS: {} MB before, {} MB with both compiled, {} MB once RE2 matched (its DFA states)\n", before >> 10,
             after_compile >> 10, after_re2 >> 10);
  fmt::print("admitted patterns: RE2 {}, Hyperscan {}; values where they differ: {}\n", re2_total, hs_total, differ);
  for (auto& [f, hdb] : hs_dbs) hs_free_database(hdb);
  hs_free_scratch(scratch);
  return 0;
}
