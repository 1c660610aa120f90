#pragma once
// Reading, decoding and converting image files (PNG, JPEG, BMP, PGM/PPM, TGA, GIF, PSD) with
// stb_image, after the structural checks of image_integrity.hpp.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "data/image.hpp"

namespace aepipe::data {

// Largest image accepted, in pixels (height * width): refuses absurd headers before
// allocating. 2^28 pixels = a 16384 x 16384 photo.
inline constexpr std::int64_t kMaxImagePixels = std::int64_t{1} << 28;

// Whole file into memory; throws Error naming the path on any failure.
std::vector<std::uint8_t> read_file_bytes(const std::string& path);

// Header only: height, width and natural channels (1 for grey or grey+alpha, else 3).
// Throws Error naming `path` if the header is unreadable or the size is 0 or too large.
ImageShape probe_image(std::span<const std::uint8_t> bytes, const std::string& path);

// Checks integrity, then decodes to `channels` (1 or 3; 0 keeps the natural count).
// Alpha is dropped. Throws Error naming `path` and the reason.
Image decode_image(std::span<const std::uint8_t> bytes, const std::string& path, int channels);

// Bilinear-family resampling (stb_image_resize defaults) to height x width.
Image resize_image(const Image& image, int height, int width);

// ITU-R BT.601 luma with the weights stb_image uses, so converted IDX/HDF5 colour images
// match folder images decoded straight to grey.
Image to_grayscale(const Image& image);

// Writes a PNG (for tests and the report stage). Throws Error naming the path.
void write_png(const std::string& path, const Image& image);

}  // namespace aepipe::data
