#include <gtest/gtest.h>

#include "data/image_codec.hpp"
#include "unit/test_support.hpp"
#include "util/error.hpp"

namespace aepipe::data {
namespace {

using testing::encode_jpeg;
using testing::encode_png;
using testing::make_image;

TEST(ImageCodec, PngRoundTripIsExact) {
  for (int channels : {1, 3}) {
    const auto image = make_image(13, 29, channels, 7);
    const auto decoded = decode_image(encode_png(image), "x.png", 0);
    EXPECT_EQ(decoded.height, 13);
    EXPECT_EQ(decoded.width, 29);
    EXPECT_EQ(decoded.channels, channels);
    EXPECT_EQ(decoded.pixels, image.pixels);
  }
}

TEST(ImageCodec, ConvertsChannelsOnRequest) {
  const auto colour = make_image(5, 6, 3, 8);
  const auto grey = decode_image(encode_png(colour), "c.png", 1);
  ASSERT_EQ(grey.channels, 1);
  // stb's luma weights, which to_grayscale also uses.
  EXPECT_EQ(grey.pixels, to_grayscale(colour).pixels);
  const auto expanded = decode_image(encode_png(make_image(4, 4, 1, 9)), "g.png", 3);
  ASSERT_EQ(expanded.channels, 3);
  EXPECT_EQ(expanded.pixels[0], expanded.pixels[1]);
  EXPECT_EQ(expanded.pixels[1], expanded.pixels[2]);
}

TEST(ImageCodec, ProbeReadsOnlyTheHeader) {
  const auto png = encode_png(make_image(40, 30, 3, 1));
  const std::vector<std::uint8_t> head(png.begin(), png.begin() + 40);
  const ImageShape shape = probe_image(head, "head.png");
  EXPECT_EQ(shape, (ImageShape{40, 30, 3}));
}

TEST(ImageCodec, DamagedFilesFailWithTheirName) {
  auto jpeg = encode_jpeg(make_image(32, 32, 3, 2));
  jpeg.resize(jpeg.size() / 2);
  try {
    decode_image(jpeg, "photos/cut.jpg", 0);
    FAIL() << "a truncated JPEG decoded";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("photos/cut.jpg"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("truncated"), std::string::npos);
  }
  EXPECT_THROW(decode_image({}, "empty.png", 0), Error);
  const std::vector<std::uint8_t> garbage(100, 0x42);
  EXPECT_THROW(decode_image(garbage, "garbage.png", 0), Error);
}

TEST(ImageCodec, ResizeGivesTheRequestedShapeAndKeepsFlatImagesFlat) {
  Image flat{10, 20, 1, std::vector<std::uint8_t>(200, 77)};
  const Image resized = resize_image(flat, 7, 5);
  EXPECT_EQ(resized.height, 7);
  EXPECT_EQ(resized.width, 5);
  ASSERT_EQ(resized.pixels.size(), 35u);
  for (auto value : resized.pixels) EXPECT_EQ(value, 77);
}

TEST(ImageCodec, GrayscaleWeights) {
  Image rgb{1, 3, 3, {255, 0, 0, 0, 255, 0, 0, 0, 255}};
  const Image grey = to_grayscale(rgb);
  EXPECT_EQ(grey.pixels, (std::vector<std::uint8_t>{76, 149, 28}));
}

}  // namespace
}  // namespace aepipe::data
