// The structural checks must pass every whole file and catch every truncation and
// corruption that stb_image would otherwise decode into garbage.
#include <gtest/gtest.h>

#include <stb_image_write.h>
#include <zlib.h>

#include <cstring>

#include "data/image_integrity.hpp"
#include "unit/test_support.hpp"

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

TEST(ImageIntegrity, GifNeedsItsTrailer) {
  const std::vector<std::uint8_t> whole{'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0, 0x3B};
  EXPECT_EQ(check_image_bytes(whole), "");
  const std::vector<std::uint8_t> cut(whole.begin(), whole.end() - 1);
  EXPECT_NE(check_image_bytes(cut), "");
}

}  // namespace
}  // namespace aepipe::data
