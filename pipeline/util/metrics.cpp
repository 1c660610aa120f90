#include "util/metrics.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "util/error.hpp"

namespace aepipe {

MetricsLog::MetricsLog(std::string path, bool enabled)
    : path_(std::move(path)), enabled_(enabled && !path_.empty()) {}

void MetricsLog::write(const JsonObject& event) const {
  if (!enabled_) return;
  std::FILE* out = std::fopen(path_.c_str(), "a");
  if (out == nullptr)
    throw Error(cat("cannot open metrics file ", path_, ": ", std::strerror(errno)));
  const std::string line = event.str() + "\n";
  const bool written = std::fwrite(line.data(), 1, line.size(), out) == line.size();
  if (std::fclose(out) != 0 || !written)
    throw Error(cat("cannot write metrics file ", path_, ": ", std::strerror(errno)));
}

}  // namespace aepipe
