#pragma once
// --metrics FILE: JSON lines appended by rank 0, one object per event, each with "stage".
#include <memory>
#include <string>
#include <vector>

#include "util/json.hpp"

namespace aepipe {

class MetricsLog {
 public:
  // An empty path disables the file; so does not being rank 0 (`root` false).
  MetricsLog(std::string path, bool root);
  // Creates the file (and its folder) if needed; throws Error naming it if it cannot be opened for
  // appending. Commands call this before any work, so a bad --metrics path costs nothing.
  void check_writable() const;
  // Appends one line. A failure now (disk full) only warns: the stage's outputs are sound.
  void write(const JsonObject& event) const;
  // Rank 0 also keeps every event written from now on in `events` (file or no file): the
  // job runner summarises its stages from them.
  void record_into(std::shared_ptr<std::vector<JsonObject>> events) {
    if (root_) recorded_ = std::move(events);
  }

 private:
  std::string path_;
  bool root_;
  bool enabled_;
  std::shared_ptr<std::vector<JsonObject>> recorded_;
};

}  // namespace aepipe
