// Graph build benchmark: N processes on one host from a pool of 1,024 PIDs (heavy reuse), a
// reboot every 100,000 processes, exits logged for half of them. Prints the build time, which
// must grow as O(n log n): run it for several N and compare time / (n log n).
//
// usage: graph_bench generate N CASE.db   (writes the events)
//        graph_bench build CASE.db        (times the graph build alone; its peak RSS is the graph's)
#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "graph/builder.hpp"
#include "store/case_db.hpp"
#include "synthetic.hpp"

int main(int argc, char** argv) {
  using namespace treeline;
  std::string mode = argc > 1 ? argv[1] : "";
  if (!((mode == "generate" && argc == 4) || (mode == "build" && argc == 3))) {
    fmt::print(stderr, "usage: graph_bench generate N CASE.db | graph_bench build CASE.db\n");
    return 2;
  }
  std::string path = argv[argc - 1];
  if (mode == "build") {
    auto db = store::open_case_for_write(path);
    if (!db) {
      fmt::print(stderr, "{}\n", db.error().message);
      return 1;
    }
    auto start = std::chrono::steady_clock::now();
    auto stats = graph::build_graph(*db);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!stats) {
      fmt::print(stderr, "{}\n", stats.error().message);
      return 1;
    }
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    double n = static_cast<double>(stats->processes);
    fmt::print("processes {:>9}  build {:7.2f} s  {:8.0f} processes/s  ns per n*log2(n) {:6.1f}  peak RSS {:6.0f} MB\n",
               stats->processes, secs, static_cast<double>(n) / secs, secs * 1e9 / (static_cast<double>(n) * std::log2(static_cast<double>(n))), static_cast<double>(ru.ru_maxrss) / 1024.0);
    return 0;
  }
  const int64_t n = std::atoll(argv[2]);
  std::filesystem::remove(path);
  auto db = store::open_case_for_write(path);
  if (!db) {
    fmt::print(stderr, "{}\n", db.error().message);
    return 1;
  }
  test::SyntheticLog log("BENCH01");
  std::mt19937 rng(7);
  const int kPool = 1024;
  std::vector<int64_t> live_pid;
  std::vector<std::string> live_image;
  const std::vector<std::string> images = {"C:\\Windows\\System32\\cmd.exe", "C:\\Windows\\System32\\conhost.exe",
                                           "C:\\Windows\\System32\\svchost.exe", "C:\\Windows\\System32\\rundll32.exe"};
  std::vector<bool> used(kPool, false);
  double t = 0;
  log.boot(t);
  for (int64_t i = 0; i < n; ++i) {
    t += 0.001;
    if (i % 100000 == 0 && i > 0) {  // reboot
      t += 60;
      log.boot(t);
      live_pid.clear();
      live_image.clear();
      used.assign(kPool, false);
    }
    while (live_pid.size() > 200 || (live_pid.size() > 8 && rng() % 2 == 0)) {
      size_t k = 1 + rng() % (live_pid.size() - 1);
      used[(live_pid[k] - 4) / 4] = false;
      if ((i / 50000) % 2 == 0) log.exit(t, live_pid[k], live_image[k]);
      live_pid.erase(live_pid.begin() + static_cast<long>(k));
      live_image.erase(live_image.begin() + static_cast<long>(k));
    }
    int slot;
    do slot = static_cast<int>(rng() % kPool);
    while (used[slot]);
    used[slot] = true;
    int64_t pid = 4 + slot * 4;
    std::string image = images[rng() % images.size()];
    size_t parent = live_pid.empty() ? 0 : rng() % live_pid.size();
    int64_t ppid = live_pid.empty() ? 4 : live_pid[parent];
    std::string parent_image = live_pid.empty() ? "" : live_image[parent];
    log.process(t, pid, ppid, image, parent_image);
    live_pid.push_back(pid);
    live_image.push_back(image);
  }
  if (auto s = log.write(*db, "bench"); !s) {
    fmt::print(stderr, "{}\n", s.error().message);
    return 1;
  }
  return 0;
}
