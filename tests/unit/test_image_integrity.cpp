// The structural checks must pass every whole file and catch every truncation and
// corruption that stb_image would otherwise decode into garbage.
#include <gtest/gtest.h>

#include <stb_image.h>
#include <stb_image_write.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "data/image_codec.hpp"
#include "data/image_integrity.hpp"
#include "unit/test_support.hpp"
#include "util/error.hpp"

namespace aepipe::data {
namespace {

using testing::encode_jpeg;
using testing::encode_png;
using testing::make_image;

TEST(ImageIntegrity, WholePngAndJpegPass) {
  for (int channels : {1, 3}) {
    const auto image = make_image(17, 23, channels, 5);
    EXPECT_EQ(check_image_bytes(encode_png(image)), "");
    EXPECT_EQ(check_image_bytes(encode_jpeg(image)), "");
    EXPECT_EQ(sniff_format(encode_png(image)), ImageFormat::kPng);
    EXPECT_EQ(sniff_format(encode_jpeg(image)), ImageFormat::kJpeg);
  }
}

TEST(ImageIntegrity, EveryTruncationOfAPngIsCaught) {
  const auto png = encode_png(make_image(12, 9, 3, 1));
  for (size_t length = 8; length < png.size(); ++length) {
    std::vector<std::uint8_t> cut(png.begin(), png.begin() + static_cast<long>(length));
    EXPECT_NE(check_png(cut), "") << "length " << length << " of " << png.size();
  }
}

TEST(ImageIntegrity, EveryFlippedBytePastTheSignatureIsCaught) {
  const auto png = encode_png(make_image(6, 7, 1, 2));
  for (size_t at = 8; at < png.size(); ++at) {
    auto damaged = png;
    damaged[at] ^= 0x5a;
    EXPECT_NE(check_png(damaged), "") << "byte " << at;
  }
}

TEST(ImageIntegrity, PngMessagesSayWhatIsWrong) {
  auto png = encode_png(make_image(8, 8, 1, 3));
  auto damaged = png;
  damaged[png.size() - 20] ^= 1;  // inside IDAT or IEND's CRC region
  EXPECT_NE(check_png(damaged).find("CRC"), std::string::npos);
  std::vector<std::uint8_t> cut(png.begin(), png.end() - 12);  // IEND removed
  EXPECT_NE(check_png(cut).find("truncated"), std::string::npos);
}

TEST(ImageIntegrity, EveryTruncationOfAJpegIsCaught) {
  const auto jpeg = encode_jpeg(make_image(16, 16, 3, 4));
  for (size_t length = 2; length < jpeg.size(); ++length) {
    std::vector<std::uint8_t> cut(jpeg.begin(), jpeg.begin() + static_cast<long>(length));
    EXPECT_NE(check_jpeg(cut), "") << "length " << length << " of " << jpeg.size();
  }
}

TEST(ImageIntegrity, JpegWithoutFrameOrWithBrokenSegmentFails) {
  const std::vector<std::uint8_t> only_markers{0xFF, 0xD8, 0xFF, 0xD9};
  EXPECT_NE(check_jpeg(only_markers), "");
  auto jpeg = encode_jpeg(make_image(8, 8, 1, 6));
  jpeg[2] = 0x12;  // the first marker's 0xFF replaced
  EXPECT_NE(check_jpeg(jpeg), "");
}

// Where the SOS segment of an stb-written JPEG starts.
size_t start_of_scan(const std::vector<std::uint8_t>& jpeg) {
  for (size_t at = 2; at + 1 < jpeg.size(); ++at)
    if (jpeg[at] == 0xFF && jpeg[at + 1] == 0xDA) return at;
  return 0;
}

TEST(ImageIntegrity, JpegScanSelectingAnUndefinedHuffmanTableIsRefused) {
  // stb_image decodes such a scan with uninitialised tables and indexes far outside them
  // (found by fuzzing: fuzz/corpus/image/crash-jpeg-undefined-huffman-table).
  const auto jpeg = encode_jpeg(make_image(8, 8, 1, 6));
  const size_t sos = start_of_scan(jpeg);
  ASSERT_GT(sos, 0u);
  ASSERT_EQ(check_jpeg(jpeg), "");
  // stb writes tables 0 and 1 of each class; the first component's selectors are at sos + 6.
  for (const auto& [selectors, named] :
       std::vector<std::pair<std::uint8_t, std::string>>{{0x20, "DC Huffman table 2"},
                                                         {0x03, "AC Huffman table 3"},
                                                         {0x31, "DC Huffman table 3"}}) {
    auto damaged = jpeg;
    damaged[sos + 6] = selectors;
    const std::string reason = check_jpeg(damaged);
    EXPECT_NE(reason.find(named), std::string::npos) << reason;
    EXPECT_NE(reason.find("no DHT segment"), std::string::npos) << reason;
    EXPECT_THROW(decode_image(damaged, "x.jpg", 0), Error);
  }
  // A scan header too short for its components is refused too.
  auto short_scan = jpeg;
  short_scan[sos + 3] = 4;  // length 4: room for no component
  EXPECT_NE(check_jpeg(short_scan), "");
}

TEST(ImageIntegrity, OtherFormatsAreLeftToTheDecoder) {
  const std::vector<std::uint8_t> psd_like{'8', 'B', 'P', 'S'};
  EXPECT_EQ(sniff_format(psd_like), ImageFormat::kOther);
  EXPECT_EQ(check_image_bytes(psd_like), "");
}

}  // namespace
}  // namespace aepipe::data

namespace aepipe::data {
namespace {

std::uint32_t crc_of(const std::vector<std::uint8_t>& bytes, size_t at, size_t length) {
  return static_cast<std::uint32_t>(crc32(0L, bytes.data() + at, static_cast<uInt>(length)));
}

TEST(ImageIntegrity, DamageUnderARecomputedCrcIsCaughtByTheZlibStream) {
  auto png = testing::encode_png(testing::make_image(20, 20, 3, 9));
  // Find IDAT, flip a byte in its middle, then make its CRC valid again.
  size_t at = 8;
  while (std::memcmp(png.data() + at + 4, "IDAT", 4) != 0)
    at += 12 + ((size_t{png[at]} << 24) | (size_t{png[at + 1]} << 16) | (size_t{png[at + 2]} << 8) |
                png[at + 3]);
  const size_t length = (size_t{png[at]} << 24) | (size_t{png[at + 1]} << 16) |
                        (size_t{png[at + 2]} << 8) | png[at + 3];
  int caught = 0;
  for (size_t offset = 2; offset + 4 < length; offset += std::max<size_t>(1, length / 17)) {
    auto damaged = png;
    damaged[at + 8 + offset] ^= 0x24;
    const std::uint32_t crc = crc_of(damaged, at + 4, length + 4);
    for (int i = 0; i < 4; ++i)
      damaged[at + 8 + length + static_cast<size_t>(i)] =
          static_cast<std::uint8_t>(crc >> (24 - 8 * i));
    if (!check_png(damaged).empty()) ++caught;
  }
  EXPECT_GE(caught, 15);  // zlib's Adler-32 catches any single damaged byte
}

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(context);
  out->insert(out->end(), static_cast<std::uint8_t*>(data),
              static_cast<std::uint8_t*>(data) + size);
}

TEST(ImageIntegrity, ZeroSizedImagesAreCaughtNamingTheirSize) {
  auto png = encode_png(make_image(4, 6, 1, 3));
  std::fill(png.begin() + 16, png.begin() + 20, std::uint8_t{0});  // IHDR width 0
  const uLong crc = crc32(0L, png.data() + 12, 17);
  for (int i = 0; i < 4; ++i) png[29 + i] = static_cast<std::uint8_t>(crc >> (24 - 8 * i));
  EXPECT_EQ(check_image_bytes(png), "declares an image of 4 x 0 pixels");
  const std::string pgm = "P5\n0 3\n255\n";
  EXPECT_EQ(check_image_bytes(std::vector<std::uint8_t>(pgm.begin(), pgm.end())),
            "declares an image of 3 x 0 pixels");
}

TEST(ImageIntegrity, TruncatedBmpTgaAndPnmAreCaught) {
  const auto image = testing::make_image(9, 7, 3, 4);
  std::vector<std::uint8_t> bmp, tga_rle, tga_raw;
  stbi_write_bmp_to_func(append_bytes, &bmp, image.width, image.height, 3, image.pixels.data());
  stbi_write_tga_to_func(append_bytes, &tga_rle, image.width, image.height, 3, image.pixels.data());
  stbi_write_tga_with_rle = 0;
  stbi_write_tga_to_func(append_bytes, &tga_raw, image.width, image.height, 3, image.pixels.data());
  stbi_write_tga_with_rle = 1;
  const std::string header = "P6\n# a comment\n7 9\n255\n";
  std::vector<std::uint8_t> ppm(header.begin(), header.end());
  ppm.insert(ppm.end(), image.pixels.begin(), image.pixels.end());
  const std::vector<std::pair<std::vector<std::uint8_t>, std::string>> files{
      {bmp, "a.bmp"}, {tga_rle, "b.tga"}, {tga_raw, "c.TGA"}, {ppm, "d.ppm"}};
  for (const auto& [bytes, name] : files) {
    EXPECT_EQ(check_image_bytes(bytes, name), "") << name;
    for (size_t length = 19; length < bytes.size(); length += 7) {
      const std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<long>(length));
      EXPECT_NE(check_image_bytes(cut, name), "") << name << " cut to " << length;
    }
  }
}

// A GIF89a of `width` x `height` grey pixels (values < 2^min_code) with LZW data as a GIF
// decoder reads it: the code size grows as the decoder's table does, a clear code restarts it
// every `clear_every` pixels. Only literal codes: enough to test counting and truncation.
std::vector<std::uint8_t> grey_gif(std::uint16_t width, std::uint16_t height,
                                   const std::vector<std::uint8_t>& pixels, unsigned min_code,
                                   size_t clear_every) {
  std::vector<std::uint8_t> data;
  std::uint64_t bits = 0;
  unsigned count = 0;
  const auto emit = [&](std::uint32_t code, unsigned size) {
    bits |= std::uint64_t{code} << count;
    count += size;
    for (; count >= 8; count -= 8, bits >>= 8) data.push_back(static_cast<std::uint8_t>(bits));
  };
  const std::uint32_t clear = 1u << min_code;
  unsigned size = min_code + 1;
  std::uint32_t next = clear + 2;
  bool first = true;
  for (size_t i = 0; i < pixels.size(); ++i) {
    if (i % clear_every == 0) {
      emit(clear, size);
      size = min_code + 1;
      next = clear + 2;
      first = true;
    }
    emit(pixels[i], size);
    if (!first && next < 4096 && ++next == (1u << size) && size < 12) ++size;
    first = false;
  }
  emit(clear + 1, size);
  if (count > 0) data.push_back(static_cast<std::uint8_t>(bits));
  std::vector<std::uint8_t> gif{'G', 'I', 'F', '8', '9', 'a'};
  const auto put16 = [&](std::uint16_t v) {
    gif.push_back(static_cast<std::uint8_t>(v));
    gif.push_back(static_cast<std::uint8_t>(v >> 8));
  };
  put16(width);
  put16(height);
  gif.insert(gif.end(), {static_cast<std::uint8_t>(0x80 | (min_code - 1)), 0, 0});
  for (std::uint32_t i = 0; i < (2u << (min_code - 1)); ++i)
    gif.insert(gif.end(), 3, static_cast<std::uint8_t>(i * 255 / ((2u << (min_code - 1)) - 1)));
  gif.insert(gif.end(), {0x21, 0xF9, 4, 0, 0, 0, 0, 0});  // a graphic control extension
  gif.push_back(0x2C);
  put16(0);
  put16(0);
  put16(width);
  put16(height);
  gif.push_back(0);
  gif.push_back(static_cast<std::uint8_t>(min_code));
  for (size_t i = 0; i < data.size(); i += 255) {
    const size_t length = std::min<size_t>(255, data.size() - i);
    gif.push_back(static_cast<std::uint8_t>(length));
    gif.insert(gif.end(), data.begin() + static_cast<long>(i),
               data.begin() + static_cast<long>(i + length));
  }
  gif.push_back(0);
  gif.push_back(0x3B);
  return gif;
}

std::vector<std::uint8_t> pixel_ramp(size_t count, unsigned levels) {
  std::vector<std::uint8_t> pixels(count);
  for (size_t i = 0; i < count; ++i)
    pixels[i] = static_cast<std::uint8_t>((i * 7 + i / 3) % levels);
  return pixels;
}

TEST(ImageIntegrity, WholeGifsPassAndDecodeToTheirPixels) {
  for (const unsigned min_code : {2u, 4u, 8u}) {
    for (const size_t clear_every : {size_t{50}, size_t{5000}}) {  // 5000: the table fills
      const std::uint16_t width = 61, height = 67;
      const auto pixels = pixel_ramp(size_t{width} * height, 1u << min_code);
      const auto gif = grey_gif(width, height, pixels, min_code, clear_every);
      EXPECT_EQ(check_image_bytes(gif, "x.gif"), "") << min_code << " " << clear_every;
      int w = 0, h = 0, channels = 0;
      unsigned char* decoded =
          stbi_load_from_memory(gif.data(), static_cast<int>(gif.size()), &w, &h, &channels, 1);
      ASSERT_NE(decoded, nullptr) << stbi_failure_reason();
      const unsigned step = 255 / ((1u << min_code) - 1);
      for (size_t i = 0; i < pixels.size(); ++i)
        ASSERT_EQ(decoded[i], pixels[i] * step) << "pixel " << i;
      stbi_image_free(decoded);
    }
  }
}

TEST(ImageIntegrity, GifWithTooFewPixelsOrCutShortIsCaught) {
  // The LZW data of a 40 x 40 image stops after 1,000 pixels; the file still ends well.
  const auto short_data = grey_gif(40, 40, pixel_ramp(1000, 16), 4, 100);
  const std::string reason = check_image_bytes(short_data, "x.gif");
  EXPECT_NE(reason.find("1000 of its 1600 pixels"), std::string::npos) << reason;
  // A 35-byte file declaring 16000 x 16000 pixels (it decoded to 1 GiB of background).
  const std::vector<std::uint8_t> bomb{
      'G', 'I',  'F', '8', '9', 'a', 0x80, 0x3E, 0x80, 0x3E, 0x80, 0, 0, 0,    0, 0, 255, 255,
      255, 0x2C, 0,   0,   0,   0,   0x80, 0x3E, 0x80, 0x3E, 0,    2, 2, 0x4C, 1, 0, 0x3B};
  EXPECT_NE(check_image_bytes(bomb, "bomb.gif"), "");
  // Every cut (from 6 bytes: shorter is not a GIF to the sniffer, but the decoder's to
  // refuse), and every cut with the trailer put back.
  const auto whole = grey_gif(23, 19, pixel_ramp(23 * 19, 256), 8, 5000);
  for (size_t length = 6; length < whole.size() - 1; ++length) {
    std::vector<std::uint8_t> cut(whole.begin(), whole.begin() + static_cast<long>(length));
    EXPECT_NE(check_image_bytes(cut, "x.gif"), "") << "cut to " << length;
    cut.push_back(0x3B);
    EXPECT_NE(check_image_bytes(cut, "x.gif"), "") << "cut to " << length << " + trailer";
  }
  // A GIF without an image, or with a code beyond the table.
  const std::vector<std::uint8_t> empty{'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0, 0x3B};
  EXPECT_NE(check_image_bytes(empty), "");
}

}  // namespace
}  // namespace aepipe::data
