#include "util/recorded_path.hpp"

#include <filesystem>

namespace aepipe {

std::string resolve_recorded_path(const std::string& recorded, const std::string& recording_file) {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::path path(recorded);
  if (recorded.empty() || path.is_absolute() || fs::exists(path, error)) return recorded;
  const fs::path beside = fs::path(recording_file).parent_path() / path;
  if (fs::exists(beside, error)) return beside.lexically_normal().string();
  return recorded;
}

}  // namespace aepipe
