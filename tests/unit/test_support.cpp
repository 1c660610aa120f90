#include "unit/test_support.hpp"

#include <stb_image_write.h>
#include <unistd.h>

#include <fstream>
#include <random>

namespace aepipe::testing {

ScratchDir::ScratchDir() {
  static int counter = 0;
  root_ = std::filesystem::temp_directory_path() /
          ("aepipe-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(root_);
  std::filesystem::create_directories(root_);
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(root_, ignored);
}

data::Image make_image(int height, int width, int channels, unsigned seed) {
  data::Image image{height, width, channels, {}};
  image.pixels.resize(image.bytes());
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(0, 20);
  for (int r = 0; r < height; ++r)
    for (int c = 0; c < width; ++c)
      for (int k = 0; k < channels; ++k)
        image
            .pixels[(static_cast<size_t>(r) * static_cast<size_t>(width) + static_cast<size_t>(c)) *
                        static_cast<size_t>(channels) +
                    static_cast<size_t>(k)] =
            static_cast<std::uint8_t>((r * 7 + c * 3 + k * 50 + noise(rng)) % 256);
  return image;
}

namespace {
void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(context);
  auto* bytes = static_cast<std::uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + size);
}
}  // namespace

std::vector<std::uint8_t> encode_png(const data::Image& image) {
  std::vector<std::uint8_t> out;
  stbi_write_png_to_func(append_bytes, &out, image.width, image.height, image.channels,
                         image.pixels.data(), image.width * image.channels);
  return out;
}

std::vector<std::uint8_t> encode_jpeg(const data::Image& image, int quality) {
  std::vector<std::uint8_t> out;
  stbi_write_jpg_to_func(append_bytes, &out, image.width, image.height, image.channels,
                         image.pixels.data(), quality);
  return out;
}

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

}  // namespace aepipe::testing
