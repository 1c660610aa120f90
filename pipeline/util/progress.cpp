#include "util/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "util/error.hpp"

namespace aepipe {
namespace {

// Terminal redraws at most 10 per second; log lines every 10 seconds.
constexpr double kTerminalInterval = 0.1;
constexpr double kLogInterval = 10.0;

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<std::int64_t>(std::llround(seconds));
  const std::int64_t hours = total / 3600, minutes = total / 60 % 60, secs = total % 60;
  char text[32];
  if (hours > 0)
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", static_cast<long long>(hours),
                  static_cast<long long>(minutes), static_cast<long long>(secs));
  else if (minutes > 0)
    std::snprintf(text, sizeof text, "%lld:%02lld", static_cast<long long>(minutes),
                  static_cast<long long>(secs));
  else
    std::snprintf(text, sizeof text, "%llds", static_cast<long long>(secs));
  return text;
}

Progress::Progress(std::string stage, std::int64_t total, std::string unit, bool enabled)
    : stage_(std::move(stage)),
      total_(total),
      unit_(std::move(unit)),
      enabled_(enabled),
      terminal_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

double Progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(std::int64_t done, const std::string& detail) {
  detail_ = detail;
  update(done);
}

void Progress::update(std::int64_t done) {
  done_ = done;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since < (terminal_ ? kTerminalInterval : kLogInterval)) return;
  last_draw_ = now;
  draw();
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  // The stage prints its own summary line; a terminal bar is only cleared away.
  if (enabled_ && terminal_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
}

void Progress::draw() {
  const double elapsed = seconds();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  const double fraction =
      total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : NAN;
  const std::string line =
      cat(stage_, ": ", done_, "/", total_, " ", unit_, " (", static_cast<int>(fraction * 100),
          "%), ", detail_.empty() ? "" : detail_ + ", ", static_cast<std::int64_t>(rate), " ",
          unit_, "/s, ETA ", format_duration(eta));
  if (terminal_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar = "[" + std::string(static_cast<size_t>(filled), '#') +
                      std::string(static_cast<size_t>(kWidth - filled), ' ') + "] ";
    std::fprintf(stderr, "\r\033[K%s%s", bar.c_str(), line.c_str());
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

std::string format_seconds(double seconds) {
  if (seconds >= 60) return format_duration(seconds);
  char text[32];
  std::snprintf(text, sizeof text, "%.2fs", seconds);
  return text;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace aepipe
