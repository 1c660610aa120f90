#pragma once
// The readers under test open paths (gzopen, H5Fopen after filesystem checks), exactly as the
// stages do, so each input is written to a file in memory-backed /dev/shm first. The name
// carries the process id: libFuzzer's -fork/-jobs workers each get their own file.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace aepipe::fuzz {

class FuzzFile {
 public:
  explicit FuzzFile(const char* suffix) {
    const std::filesystem::path folder =
        std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    path_ = (folder / ("aepipe-fuzz-" + std::to_string(::getpid()) + suffix)).string();
  }
  ~FuzzFile() { std::remove(path_.c_str()); }
  FuzzFile(const FuzzFile&) = delete;
  FuzzFile& operator=(const FuzzFile&) = delete;

  // Replaces the file's content with data [size] bytes; aborts if it cannot (not a finding).
  const std::string& write(const std::uint8_t* data, size_t size) {
    std::FILE* out = std::fopen(path_.c_str(), "wb");
    if (out == nullptr || (size > 0 && std::fwrite(data, 1, size, out) != size) ||
        std::fclose(out) != 0) {
      std::perror(path_.c_str());
      std::abort();
    }
    return path_;
  }

 private:
  std::string path_;
};

}  // namespace aepipe::fuzz
