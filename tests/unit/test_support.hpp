#pragma once
// Helpers shared by the unit tests: a scratch folder per test and in-memory encoders.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/image.hpp"

namespace aepipe::testing {

// A fresh empty folder under the system temp dir, removed by the destructor.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string path(const std::string& leaf) const { return (root_ / leaf).string(); }
  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
};

// A deterministic test image [height, width, channels] with gradients and noise.
data::Image make_image(int height, int width, int channels, unsigned seed);

std::vector<std::uint8_t> encode_png(const data::Image& image);
std::vector<std::uint8_t> encode_jpeg(const data::Image& image, int quality = 90);

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes);

}  // namespace aepipe::testing
