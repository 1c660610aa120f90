#pragma once
// JPEG without per-file header overhead, for the report's rate-distortion chart (issue 4's
// "mosaic" method, as bench/jpeg_mosaic.py does with libjpeg-turbo): N images [H, W, C] are
// tiled row-major into one grid of ceil(sqrt(N)) columns (zero padding in the last row),
// the grid is compressed once with stb_image_write's baseline JPEG encoder at a quality,
// decoded with stb_image and cut back into images.
//   bits per pixel  JPEG bytes * 8 / (N * H * W)  (headers and padding paid once, by all)
//   PSNR            10 log10(255^2 / MSE), MSE over every value of the N images (as
//                   `aepipe evaluate --codes` computes it)
// stb's encoder is not libjpeg-turbo (no optimised Huffman tables, its own quantisation
// rounding): its figures differ a little from the bench's.
#include <cstdint>
#include <string>
#include <vector>

#include "data/image.hpp"

namespace aepipe::report {

struct MosaicLayout {
  std::int64_t count = 0;  // N images
  data::ImageShape shape;  // of one image
  std::int64_t columns = 0, rows = 0;
  std::int64_t height() const { return rows * shape.height; }
  std::int64_t width() const { return columns * shape.width; }
};

// The grid for `count` images of `shape` (count >= 1).
MosaicLayout mosaic_layout(std::int64_t count, const data::ImageShape& shape);

// "" if stb can write and read the mosaic as a JPEG, else why not (channels other than 1 or
// 3, a side beyond JPEG's 65,535 pixels).
std::string jpeg_mosaic_unsupported(const MosaicLayout& layout);

// images [count, H, W, C] uint8 row-major -> the mosaic [rows * H, columns * W, C].
data::Image tile_mosaic(const std::uint8_t* images, const MosaicLayout& layout);
// The mosaic back to images [count, H, W, C] (padding dropped).
std::vector<std::uint8_t> cut_mosaic(const data::Image& mosaic, const MosaicLayout& layout);

struct JpegPoint {
  int quality = 0;  // 1..100, stb_image_write's scale
  double bytes = 0;
  double bits_per_pixel = 0;
  double psnr = 0;  // dB; 100 stands in for lossless
};

// Compresses the mosaic of `images` [count, H, W, C] at each quality (1..100) and measures it.
// Throws Error if the layout is unsupported or stb fails.
std::vector<JpegPoint> measure_jpeg_mosaic(const std::uint8_t* images, const MosaicLayout& layout,
                                           const std::vector<int>& qualities);

}  // namespace aepipe::report
