#include "report/jpeg_mosaic.hpp"

#include <stb_image.h>
#include <stb_image_write.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "codec/image_quality.hpp"
#include "util/error.hpp"

namespace aepipe::report {
namespace {

constexpr std::int64_t kMaxJpegSide = 65535;  // JPEG's 16-bit frame dimensions
constexpr double kLosslessPsnr = 100.0;       // as `aepipe evaluate --codes`

void append_bytes(void* context, void* data, int size) {
  auto& out = *static_cast<std::vector<std::uint8_t>*>(context);
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  out.insert(out.end(), bytes, bytes + size);
}

// The row bytes of image i's row y inside the mosaic [rows * H, columns * W, C].
std::size_t mosaic_offset(const MosaicLayout& layout, std::int64_t image, std::int64_t y) {
  const auto& shape = layout.shape;
  const std::int64_t top = (image / layout.columns) * shape.height + y;
  const std::int64_t left = (image % layout.columns) * shape.width;
  return static_cast<std::size_t>((top * layout.width() + left) * shape.channels);
}

}  // namespace

MosaicLayout mosaic_layout(std::int64_t count, const data::ImageShape& shape) {
  if (count < 1) throw Error("internal: a JPEG mosaic needs at least one image");
  MosaicLayout layout{count, shape, 0, 0};
  layout.columns = static_cast<std::int64_t>(std::ceil(std::sqrt(static_cast<double>(count))));
  while (layout.columns * layout.columns < count) ++layout.columns;  // sqrt's rounding
  while ((layout.columns - 1) * (layout.columns - 1) >= count) --layout.columns;
  layout.rows = (count + layout.columns - 1) / layout.columns;
  return layout;
}

std::string jpeg_mosaic_unsupported(const MosaicLayout& layout) {
  if (layout.shape.channels != 1 && layout.shape.channels != 3)
    return cat("JPEG needs grey or RGB images, these have ", layout.shape.channels, " channels");
  if (layout.height() > kMaxJpegSide || layout.width() > kMaxJpegSide)
    return cat("the mosaic of ", layout.count, " images would be ", layout.height(), "x",
               layout.width(), " pixels, beyond JPEG's ", kMaxJpegSide);
  return "";
}

data::Image tile_mosaic(const std::uint8_t* images, const MosaicLayout& layout) {
  const auto& shape = layout.shape;
  data::Image mosaic{
      static_cast<int>(layout.height()), static_cast<int>(layout.width()), shape.channels, {}};
  mosaic.pixels.assign(mosaic.bytes(), 0);
  const std::size_t line = static_cast<std::size_t>(shape.width) * shape.channels;
  for (std::int64_t i = 0; i < layout.count; ++i)
    for (std::int64_t y = 0; y < shape.height; ++y)
      std::memcpy(mosaic.pixels.data() + mosaic_offset(layout, i, y),
                  images + static_cast<std::size_t>(i) * shape.bytes() + y * line, line);
  return mosaic;
}

std::vector<std::uint8_t> cut_mosaic(const data::Image& mosaic, const MosaicLayout& layout) {
  const auto& shape = layout.shape;
  if (mosaic.height != layout.height() || mosaic.width != layout.width() ||
      mosaic.channels != shape.channels)
    throw Error(cat("internal: a ", mosaic.height, "x", mosaic.width, "x", mosaic.channels,
                    " mosaic is not the ", layout.height(), "x", layout.width(), "x",
                    shape.channels, " grid expected"));
  std::vector<std::uint8_t> images(static_cast<std::size_t>(layout.count) * shape.bytes());
  const std::size_t line = static_cast<std::size_t>(shape.width) * shape.channels;
  for (std::int64_t i = 0; i < layout.count; ++i)
    for (std::int64_t y = 0; y < shape.height; ++y)
      std::memcpy(images.data() + static_cast<std::size_t>(i) * shape.bytes() + y * line,
                  mosaic.pixels.data() + mosaic_offset(layout, i, y), line);
  return images;
}

std::vector<JpegPoint> measure_jpeg_mosaic(const std::uint8_t* images, const MosaicLayout& layout,
                                           const std::vector<int>& qualities) {
  if (const std::string why = jpeg_mosaic_unsupported(layout); !why.empty()) throw Error(why);
  const data::Image mosaic = tile_mosaic(images, layout);
  const std::size_t values = static_cast<std::size_t>(layout.count) * layout.shape.bytes();
  const double pixels =
      static_cast<double>(layout.count) * layout.shape.height * layout.shape.width;
  std::vector<JpegPoint> points;
  for (const int quality : qualities) {
    if (quality < 1 || quality > 100)
      throw Error(cat("internal: JPEG quality ", quality, " is outside 1..100"));
    std::vector<std::uint8_t> jpeg;
    if (!stbi_write_jpg_to_func(append_bytes, &jpeg, mosaic.width, mosaic.height, mosaic.channels,
                                mosaic.pixels.data(), quality))
      throw Error(cat("stb could not write the ", mosaic.height, "x", mosaic.width,
                      " JPEG mosaic at quality ", quality));
    int width = 0, height = 0, channels = 0;
    const std::unique_ptr<stbi_uc, void (*)(void*)> decoded(
        stbi_load_from_memory(jpeg.data(), static_cast<int>(jpeg.size()), &width, &height,
                              &channels, mosaic.channels),
        stbi_image_free);
    if (!decoded)
      throw Error(cat("stb could not read back its JPEG mosaic at quality ", quality, ": ",
                      stbi_failure_reason()));
    data::Image back{height, width, mosaic.channels, {}};
    back.pixels.assign(decoded.get(), decoded.get() + back.bytes());
    const std::vector<std::uint8_t> tiles = cut_mosaic(back, layout);
    const double error = codec::squared_error(images, tiles.data(), values);
    JpegPoint point;
    point.quality = quality;
    point.bytes = static_cast<double>(jpeg.size());
    point.bits_per_pixel = 8.0 * point.bytes / pixels;
    point.psnr =
        error > 0 ? codec::psnr_from_mse(error / static_cast<double>(values)) : kLosslessPsnr;
    points.push_back(point);
  }
  return points;
}

}  // namespace aepipe::report
