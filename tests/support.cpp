#include "support.hpp"

#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;

namespace treeline::test {

TempDir::TempDir() {
  std::random_device rd;
  path_ = fs::temp_directory_path() / fmt::format("treeline-test-{}-{:x}", getpid(), rd());
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

bool have_shared_data() { return fs::is_directory(fs::path(TREELINE_SHARED_DATA) / "evtx-rs"); }

fs::path shared_data() {
  if (!have_shared_data()) {
    std::cerr << "SKIPPED: the real logs are not at " << TREELINE_SHARED_DATA
              << " (clone treeline beside shared/, or set -DTREELINE_SHARED_DATA=...)\n";
    std::exit(77);
  }
  return fs::path(TREELINE_SHARED_DATA);
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += "'\\''";
    else q += c;
  }
  return q + "'";
}

static std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RunResult run_shell(const std::string& command) {
  TempDir io;
  // Braces: the redirections apply to the whole command, not to the last stage of a pipeline.
  std::string full = fmt::format("{{ {}\n}} </dev/null >{} 2>{}", command, shell_quote(io.file("out")), shell_quote(io.file("err")));
  int status = std::system(full.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(io.file("out"));
  r.err = slurp(io.file("err"));
  return r;
}

RunResult run_treeline(const std::vector<std::string>& args) {
  std::string cmd = shell_quote(TREELINE_BINARY);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  return run_shell(cmd);
}

std::map<std::string, CountsRow> load_counts() {
  std::ifstream in(shared_data() / "COUNTS.tsv");
  std::string line;
  std::vector<std::string> header;
  std::map<std::string, CountsRow> out;
  auto split = [](const std::string& l) {
    std::vector<std::string> v;
    std::stringstream ss(l);
    std::string f;
    while (std::getline(ss, f, '\t')) v.push_back(f);
    return v;
  };
  if (std::getline(in, line)) header = split(line);
  while (std::getline(in, line)) {
    auto f = split(line);
    if (f.size() != header.size()) continue;
    CountsRow row;
    row.total = std::stoll(f[1]);
    row.method = f[2];
    for (size_t i = 3; i < f.size(); ++i) row.by_key[header[i]] = std::stoll(f[i]);
    out[f[0]] = row;
  }
  return out;
}

int64_t scalar(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return -1;
  }
  sqlite3_stmt* st = nullptr;
  // -1 when the case has no such table yet (an ingest that has only just started).
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return -1;
  }
  int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

std::string events_digest(const std::string& db_path) {
  return run_shell("sqlite3 -readonly " + shell_quote(db_path) +
                   " \"SELECT h.computer, c.name, p.name, e.event_id, e.version, e.record_id, e.time, e.execution_pid, "
                   "d.data FROM events e JOIN hosts h USING(host_id) JOIN channels c USING(channel_id) "
                   "LEFT JOIN providers p USING(provider_id) LEFT JOIN event_data d USING(event_pk) ORDER BY 1,2,6,7\" | md5sum")
      .out;
}

}  // namespace treeline::test
