// libFuzzer harness: the image decode path of ingest (data/folder_source.cpp, row_maker.cpp):
// probe_image, decode_image (integrity checks, then stb_image) and append_rows (grey
// conversion, resize, tiles). The input's last byte picks the file extension (TGA is known
// only by it) and the channels wanted; the rest is the file. Every defect must end in
// aepipe::Error.
#include <cstddef>
#include <cstdint>
#include <span>

#include "data/image_codec.hpp"
#include "data/row_maker.hpp"
#include "util/error.hpp"

namespace {

using namespace aepipe::data;

constexpr const char* kNames[] = {"fuzz.png", "fuzz.jpg", "fuzz.pgm", "fuzz.bmp",
                                  "fuzz.tga", "fuzz.gif", "fuzz.ppm", "fuzz"};
constexpr int kChannels[] = {0, 1, 3};

void make_rows(Image image, RowSpec::Mode mode, int channels) {
  RowSpec spec;
  spec.mode = mode;
  spec.row_shape = {8, 8, channels};
  if (mode == RowSpec::Mode::kWhole) spec.resize_height = spec.resize_width = 8;
  // Resizing or tiling large images (a few KB of PNG or RLE can hold millions of pixels)
  // adds nothing new and costs seconds under the sanitisers.
  if (image.bytes() > (mode == RowSpec::Mode::kTiles ? (1 << 16) : (1 << 22))) return;
  RowBatch batch;
  append_rows(spec, 0, SourceItem{std::move(image), 0, "fuzz"}, batch);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::uint8_t choice = data[size - 1];
  const std::span<const std::uint8_t> bytes(data, size - 1);
  const char* name = kNames[choice % 8];
  const int channels = kChannels[(choice / 8) % 3];
  try {
    // Up to kMaxImagePixels (2^28) is legal, but stb's GIF decoder then needs 9 bytes a pixel:
    // gigabytes from a 100-byte file, which stops the fuzzer at its memory limit. Large images
    // are left out; the limits themselves are tested by the unit tests.
    const ImageShape shape = probe_image(bytes, name);
    if (static_cast<std::int64_t>(shape.height) * shape.width > (std::int64_t{1} << 24)) return 0;
    Image image = decode_image(bytes, name, channels);
    const int row_channels = channels == 0 ? image.channels : channels;
    make_rows(image, RowSpec::Mode::kWhole, row_channels);
    make_rows(std::move(image), RowSpec::Mode::kTiles, row_channels);
  } catch (const aepipe::Error&) {
  }
  return 0;
}
