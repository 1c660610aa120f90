#pragma once
// --metrics FILE: JSON lines appended by rank 0, one object per event, each with "stage".
#include <string>

#include "util/json.hpp"

namespace aepipe {

class MetricsLog {
 public:
  // An empty path disables the log; so does not being rank 0.
  MetricsLog(std::string path, bool enabled);
  // Creates the file if needed; throws Error naming it if it cannot be opened for appending.
  // Commands call this before any work, so a bad --metrics path costs nothing.
  void check_writable() const;
  // Appends one line. A failure now (disk full) only warns: the stage's outputs are sound.
  void write(const JsonObject& event) const;

 private:
  std::string path_;
  bool enabled_;
};

}  // namespace aepipe
