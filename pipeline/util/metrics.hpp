#pragma once
// --metrics FILE: JSON lines appended by rank 0, one object per event, each with "stage".
#include <string>

#include "util/json.hpp"

namespace aepipe {

class MetricsLog {
 public:
  // An empty path disables the log; so does not being rank 0.
  MetricsLog(std::string path, bool enabled);
  // Appends one line; throws Error naming the file if it cannot be written.
  void write(const JsonObject& event) const;

 private:
  std::string path_;
  bool enabled_;
};

}  // namespace aepipe
