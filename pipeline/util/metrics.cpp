#include "util/metrics.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "util/error.hpp"
#include "util/report.hpp"

namespace aepipe {

MetricsLog::MetricsLog(std::string path, bool root)
    : path_(std::move(path)), root_(root), enabled_(root && !path_.empty()) {}

void MetricsLog::check_writable() const {
  if (!enabled_) return;
  // A log's folder is made like `mkdir -p` (a job's first stage may be the one to need it).
  std::error_code ignored;
  const std::filesystem::path folder = std::filesystem::path(path_).parent_path();
  if (!folder.empty()) std::filesystem::create_directories(folder, ignored);
  std::FILE* out = std::fopen(path_.c_str(), "a");
  if (out == nullptr)
    throw Error(cat("cannot open metrics file ", path_, " (--metrics): ", std::strerror(errno)));
  std::fclose(out);
}

void MetricsLog::write(const JsonObject& event) const {
  if (recorded_) recorded_->push_back(event);
  if (!enabled_) return;
  std::FILE* out = std::fopen(path_.c_str(), "a");
  const std::string line = event.str() + "\n";
  const bool written =
      out != nullptr && std::fwrite(line.data(), 1, line.size(), out) == line.size();
  if ((out != nullptr && std::fclose(out) != 0) || !written)
    print_warning(cat("cannot write metrics file ", path_, ": ", std::strerror(errno)), 0);
}

}  // namespace aepipe
