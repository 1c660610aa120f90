// The structural checks must pass every whole file and catch every truncation and
// corruption that stb_image would otherwise decode into garbage.
#include <gtest/gtest.h>

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
  const std::vector<std::uint8_t> bmp_like{'B', 'M', 0, 0};
  EXPECT_EQ(sniff_format(bmp_like), ImageFormat::kOther);
  EXPECT_EQ(check_image_bytes(bmp_like), "");
}

}  // namespace
}  // namespace aepipe::data
