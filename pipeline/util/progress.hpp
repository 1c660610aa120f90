#pragma once
// Progress of long work on rank 0 (DESIGN rule 6): a live bar redrawn in place on a terminal,
// plain periodic lines without control characters when stderr is a file (Slurm logs).
#include <chrono>
#include <cstdint>
#include <string>

namespace aepipe {

class Progress {
 public:
  // `enabled` is false on ranks other than 0 and under --quiet. `unit` names what is
  // counted ("images").
  Progress(std::string stage, std::int64_t total, std::string unit, bool enabled);
  void update(std::int64_t done);
  // With a short stage-specific figure shown after the count, e.g. "loss 0.0213".
  void update(std::int64_t done, const std::string& detail);
  // Ends the progress display (clears a terminal bar); the stage prints its summary.
  void finish();
  double seconds() const;

 private:
  void draw();

  std::string stage_;
  std::int64_t total_;
  std::string unit_;
  bool enabled_;
  bool terminal_;
  std::int64_t done_ = 0;
  std::string detail_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  bool finished_ = false;
};

// "1:02:03", "2:03" or "5s".
std::string format_duration(double seconds);
// Like format_duration, but "0.84s" below a minute (stage summaries of short runs).
std::string format_seconds(double seconds);
// Seconds elapsed since `start` on the steady clock.
double seconds_since(std::chrono::steady_clock::time_point start);

}  // namespace aepipe
