#pragma once
// An 8-bit image in memory: pixels row-major, channels interleaved, shape [height, width,
// channels] (the layout of one row of a data file's /images).
#include <cstdint>
#include <vector>

namespace aepipe::data {

struct Image {
  int height = 0;
  int width = 0;
  int channels = 0;
  std::vector<std::uint8_t> pixels;  // height * width * channels bytes

  std::size_t bytes() const {
    return static_cast<std::size_t>(height) * static_cast<std::size_t>(width) *
           static_cast<std::size_t>(channels);
  }
  const std::uint8_t* at(int row, int col) const {
    return pixels.data() + (static_cast<std::size_t>(row) * static_cast<std::size_t>(width) +
                            static_cast<std::size_t>(col)) *
                               static_cast<std::size_t>(channels);
  }
};

struct ImageShape {
  int height = 0;
  int width = 0;
  int channels = 0;
  std::size_t bytes() const {
    return static_cast<std::size_t>(height) * static_cast<std::size_t>(width) *
           static_cast<std::size_t>(channels);
  }
  bool operator==(const ImageShape&) const = default;
};

}  // namespace aepipe::data
