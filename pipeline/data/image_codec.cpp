#include "data/image_codec.hpp"

#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>

#include "data/image_integrity.hpp"
#include "util/error.hpp"

namespace aepipe::data {
namespace {

int natural_channels(int components) {
  return components <= 2 ? 1 : 3;
}

int byte_count(std::span<const std::uint8_t> bytes, const std::string& path) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    throw Error(cat("image file too large to decode (", bytes.size(), " bytes): ", path));
  return static_cast<int>(bytes.size());
}

// Grey to three equal channels, as stb_image converts.
Image grey_to_rgb(const Image& grey) {
  Image rgb{grey.height, grey.width, 3, {}};
  rgb.pixels.reserve(rgb.bytes());
  for (const std::uint8_t value : grey.pixels) rgb.pixels.insert(rgb.pixels.end(), 3, value);
  return rgb;
}

}  // namespace

std::vector<std::uint8_t> read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(cat("cannot open ", path, ": ", std::strerror(errno)));
  const std::streamoff size = in.tellg();
  if (size < 0) throw Error(cat("cannot read ", path, ": size unknown"));
  std::vector<std::uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    throw Error(cat("cannot read ", path, ": ", std::strerror(errno)));
  return bytes;
}

ImageShape probe_image(std::span<const std::uint8_t> bytes, const std::string& path) {
  if (bytes.empty()) throw Error(cat("cannot decode image ", path, ": the file is empty"));
  if (const std::string damage = check_image_header(bytes); !damage.empty())
    throw Error(cat("cannot decode image ", path, ": ", damage));
  int width = 0, height = 0, components = 0;
  if (!stbi_info_from_memory(bytes.data(), byte_count(bytes, path), &width, &height, &components)) {
    // stb's reasons are terse ("Image not of any known type, or corrupt"): the full check
    // usually says what is wrong.
    const std::string damage = check_image_bytes(bytes, path);
    throw Error(cat("cannot decode image ", path, ": ",
                    damage.empty() ? stbi_failure_reason() : damage.c_str()));
  }
  if (width <= 0 || height <= 0)
    throw Error(cat("cannot decode image ", path, ": size ", height, "x", width, " is empty"));
  if (std::int64_t{width} * height > kMaxImagePixels)
    throw Error(cat("cannot decode image ", path, ": ", height, "x", width,
                    " pixels is more than the limit of ", kMaxImagePixels));
  return {height, width, natural_channels(components)};
}

Image decode_image(std::span<const std::uint8_t> bytes, const std::string& path, int channels) {
  const ImageShape shape = probe_image(bytes, path);
  if (const std::string damage = check_image_bytes(bytes, path); !damage.empty())
    throw Error(cat("cannot decode image ", path, ": ", damage));
  const int wanted = channels == 0 ? shape.channels : channels;
  // stb_image's PNM loader converts 16-bit samples (maxval > 255) to another channel count as
  // if they were bytes, then reads twice that buffer's size (a heap overflow): PNM images are
  // decoded to their own channel count and converted here.
  const bool convert_here = sniff_format(bytes) == ImageFormat::kPnm && wanted != shape.channels;
  const int decoded = convert_here ? shape.channels : wanted;
  int width = 0, height = 0, components = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(bytes.data(), byte_count(bytes, path), &width, &height, &components,
                            decoded),
      stbi_image_free);
  if (!pixels) throw Error(cat("cannot decode image ", path, ": ", stbi_failure_reason()));
  Image image{height, width, decoded, {}};
  image.pixels.assign(pixels.get(), pixels.get() + image.bytes());
  if (!convert_here) return image;
  return wanted == 1 ? to_grayscale(image) : grey_to_rgb(image);
}

Image resize_image(const Image& image, int height, int width) {
  if (image.height == height && image.width == width) return image;
  Image resized{height, width, image.channels, {}};
  resized.pixels.resize(resized.bytes());
  if (!stbir_resize_uint8(image.pixels.data(), image.width, image.height, 0, resized.pixels.data(),
                          width, height, 0, image.channels))
    throw Error(
        cat("cannot resize a ", image.height, "x", image.width, " image to ", height, "x", width));
  return resized;
}

Image to_grayscale(const Image& image) {
  if (image.channels == 1) return image;
  Image grey{image.height, image.width, 1, {}};
  grey.pixels.resize(grey.bytes());
  const size_t pixels = grey.bytes();
  const size_t stride = static_cast<size_t>(image.channels);
  for (size_t i = 0; i < pixels; ++i) {
    const std::uint8_t* rgb = image.pixels.data() + i * stride;
    grey.pixels[i] = static_cast<std::uint8_t>((rgb[0] * 77 + rgb[1] * 150 + rgb[2] * 29) >> 8);
  }
  return grey;
}

void write_png(const std::string& path, const Image& image) {
  if (!stbi_write_png(path.c_str(), image.width, image.height, image.channels, image.pixels.data(),
                      image.width * image.channels))
    throw Error(cat("cannot write PNG ", path));
}

}  // namespace aepipe::data
