#include "data/tiling.hpp"

#include <algorithm>
#include <cstring>
#include <random>

#include "util/error.hpp"

namespace aepipe::data {
namespace {

void copy_window(const Image& image, int top, int left, int size, std::uint8_t* out) {
  const size_t channels = static_cast<size_t>(image.channels);
  for (int r = 0; r < size; ++r) {
    const int source_row = std::min(top + r, image.height - 1);
    for (int c = 0; c < size; ++c) {
      const int source_col = std::min(left + c, image.width - 1);
      std::memcpy(out, image.at(source_row, source_col), channels);
      out += channels;
    }
  }
}

}  // namespace

std::int64_t tile_count(int height, int width, int size) {
  return std::int64_t{(height + size - 1) / size} * ((width + size - 1) / size);
}

std::vector<TileOrigin> cut_tiles(const Image& image, int size, std::vector<std::uint8_t>& out) {
  const size_t tile_bytes =
      static_cast<size_t>(size) * static_cast<size_t>(size) * static_cast<size_t>(image.channels);
  std::vector<TileOrigin> origins;
  origins.reserve(static_cast<size_t>(tile_count(image.height, image.width, size)));
  for (int top = 0; top < image.height; top += size)
    for (int left = 0; left < image.width; left += size) {
      const size_t at = out.size();
      out.resize(at + tile_bytes);
      copy_window(image, top, left, size, out.data() + at);
      origins.push_back({top, left});
    }
  return origins;
}

std::vector<TileOrigin> sample_patches(const Image& image, int size, int count, std::uint64_t seed,
                                       std::uint64_t item, std::vector<std::uint8_t>& out) {
  if (image.height < size || image.width < size)
    throw Error(cat("image of ", image.height, "x", image.width, " is smaller than the ", size, "x",
                    size, " patches"));
  // mt19937_64 and uniform_int_distribution over explicit bounds: the draw sequence depends
  // only on (seed, item), never on which rank decodes the image.
  std::seed_seq sequence{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                         static_cast<std::uint32_t>(item), static_cast<std::uint32_t>(item >> 32)};
  std::mt19937_64 generator(sequence);
  const size_t patch_bytes =
      static_cast<size_t>(size) * static_cast<size_t>(size) * static_cast<size_t>(image.channels);
  std::vector<TileOrigin> origins;
  for (int i = 0; i < count; ++i) {
    // Drawn from raw 64-bit outputs with a modulo: the distribution classes differ between
    // standard libraries, this arithmetic does not.
    const auto top =
        static_cast<int>(generator() % static_cast<std::uint64_t>(image.height - size + 1));
    const auto left =
        static_cast<int>(generator() % static_cast<std::uint64_t>(image.width - size + 1));
    const size_t at = out.size();
    out.resize(at + patch_bytes);
    copy_window(image, top, left, size, out.data() + at);
    origins.push_back({top, left});
  }
  return origins;
}

Image assemble_tiles(int height, int width, int channels, int size,
                     const std::vector<TileOrigin>& origins, const std::uint8_t* tiles) {
  Image image{height, width, channels, {}};
  image.pixels.resize(image.bytes());
  const size_t pixel = static_cast<size_t>(channels);
  const size_t tile_bytes = static_cast<size_t>(size) * static_cast<size_t>(size) * pixel;
  for (size_t i = 0; i < origins.size(); ++i) {
    const std::uint8_t* tile = tiles + i * tile_bytes;
    for (int r = 0; r < size && origins[i].row + r < height; ++r)
      for (int c = 0; c < size && origins[i].col + c < width; ++c)
        std::memcpy(
            image.pixels.data() +
                (static_cast<size_t>(origins[i].row + r) * static_cast<size_t>(width) +
                 static_cast<size_t>(origins[i].col + c)) *
                    pixel,
            tile + (static_cast<size_t>(r) * static_cast<size_t>(size) + static_cast<size_t>(c)) *
                       pixel,
            pixel);
  }
  return image;
}

}  // namespace aepipe::data
