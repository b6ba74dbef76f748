#include "cli/progress.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>

namespace treeline::cli {

ProgressBar::ProgressBar(bool enabled)
    : enabled_(enabled && isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()), last_() {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(size_t files_done, size_t files_total, int64_t records, const std::string& current) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  // Redrawing more than ten times a second costs more than it tells.
  if (drawn_ && now - last_ < std::chrono::milliseconds(100) && files_done < files_total) return;
  last_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  double rate = secs > 0 ? static_cast<double>(records) / secs : 0;
  struct winsize ws {};
  int cols = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 80;
  int bar_w = 20;
  int filled = files_total ? static_cast<int>(bar_w * files_done / files_total) : 0;
  std::string line = fmt::format("[{}{}] files {}/{}  records {}  {:.0f} rec/s  ", std::string(filled, '#'),
                                 std::string(bar_w - filled, '.'), files_done, files_total, records, rate);
  std::string name = current.substr(current.find_last_of('/') + 1);
  int room = cols - 1 - static_cast<int>(line.size());
  if (room > 3) line += name.size() > size_t(room) ? name.substr(0, room - 1) + "~" : name;
  fmt::print(stderr, "\r\x1b[K{}", line);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (enabled_ && drawn_) {
    fmt::print(stderr, "\r\x1b[K");
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace treeline::cli
