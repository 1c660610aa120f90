#include "util/metrics.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "util/error.hpp"
#include "util/report.hpp"

namespace aepipe {

MetricsLog::MetricsLog(std::string path, bool enabled)
    : path_(std::move(path)), enabled_(enabled && !path_.empty()) {}

void MetricsLog::check_writable() const {
  if (!enabled_) return;
  std::FILE* out = std::fopen(path_.c_str(), "a");
  if (out == nullptr)
    throw Error(cat("cannot open metrics file ", path_, " (--metrics): ", std::strerror(errno)));
  std::fclose(out);
}

void MetricsLog::write(const JsonObject& event) const {
  if (!enabled_) return;
  std::FILE* out = std::fopen(path_.c_str(), "a");
  const std::string line = event.str() + "\n";
  const bool written =
      out != nullptr && std::fwrite(line.data(), 1, line.size(), out) == line.size();
  if ((out != nullptr && std::fclose(out) != 0) || !written)
    print_warning(cat("cannot write metrics file ", path_, ": ", std::strerror(errno)), 0);
}

}  // namespace aepipe
