#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace treeline::test {

// A fresh directory under /tmp, removed when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// ../shared/data, or exits 77 (ctest's "skipped") with a message when it is not there.
std::filesystem::path shared_data();
bool have_shared_data();

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs the treeline binary with these arguments (shell-quoted here).
RunResult run_treeline(const std::vector<std::string>& args);
RunResult run_shell(const std::string& command);
std::string shell_quote(const std::string& s);
// The first column of the first row of `sql` on the case at `db_path` (read only); -1 when the
// case or the table is not there (yet).
int64_t scalar(const std::string& db_path, const std::string& sql);

// The md5 of every event of a case as a later ingest must give it back: host, channel,
// provider, id, version, record id, time, Execution ProcessID and data.
std::string events_digest(const std::string& db_path);

// COUNTS.tsv: path -> column -> value; method is kept as a string.
struct CountsRow {
  int64_t total = 0;
  std::string method;
  std::map<std::string, int64_t> by_key;  // "Security:4688" -> n
};
std::map<std::string, CountsRow> load_counts();

}  // namespace treeline::test
