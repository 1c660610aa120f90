#include <gtest/gtest.h>

#include "data/row_maker.hpp"
#include "data/tiling.hpp"
#include "unit/test_support.hpp"
#include "util/error.hpp"

namespace aepipe::data {
namespace {

TEST(Tiling, TilesReassembleExactlyForAnySize) {
  for (int height : {1, 15, 16, 17, 40})
    for (int width : {1, 16, 33})
      for (int channels : {1, 3}) {
        const Image image = testing::make_image(height, width, channels, 11);
        std::vector<std::uint8_t> tiles;
        const auto origins = cut_tiles(image, 16, tiles);
        ASSERT_EQ(static_cast<std::int64_t>(origins.size()), tile_count(height, width, 16));
        ASSERT_EQ(tiles.size(), origins.size() * 16 * 16 * static_cast<size_t>(channels));
        const Image back = assemble_tiles(height, width, channels, 16, origins, tiles.data());
        EXPECT_EQ(back.pixels, image.pixels) << height << "x" << width << "x" << channels;
      }
}

TEST(Tiling, EdgeTilesRepeatTheLastRowAndColumn) {
  const Image image = testing::make_image(3, 5, 1, 2);
  std::vector<std::uint8_t> tiles;
  const auto origins = cut_tiles(image, 4, tiles);
  ASSERT_EQ(origins.size(), 2u);
  EXPECT_EQ(origins[1].row, 0);
  EXPECT_EQ(origins[1].col, 4);
  // Second tile: column 0 is source column 4; columns 1..3 repeat it; row 3 repeats row 2.
  const std::uint8_t* tile = tiles.data() + 16;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c)
      EXPECT_EQ(tile[r * 4 + c], *image.at(std::min(r, 2), 4)) << r << "," << c;
}

TEST(Tiling, PatchesDependOnlyOnSeedAndItem) {
  const Image image = testing::make_image(30, 40, 3, 3);
  std::vector<std::uint8_t> a, b, c;
  const auto origins_a = sample_patches(image, 8, 20, 7, 5, a);
  const auto origins_b = sample_patches(image, 8, 20, 7, 5, b);
  const auto origins_c = sample_patches(image, 8, 20, 8, 5, c);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  for (size_t i = 0; i < origins_a.size(); ++i) {
    EXPECT_LE(origins_a[i].row + 8, 30);
    EXPECT_LE(origins_a[i].col + 8, 40);
    // The patch is the window at its origin.
    for (int r = 0; r < 8; ++r)
      for (int col = 0; col < 8; ++col)
        for (int k = 0; k < 3; ++k)
          ASSERT_EQ(a[i * 192 + static_cast<size_t>((r * 8 + col) * 3 + k)],
                    image.at(static_cast<int>(origins_a[i].row) + r,
                             static_cast<int>(origins_a[i].col) + col)[k]);
  }
}

TEST(RowMaker, WholeImagesMustMatchTheShape) {
  RowSpec spec;
  spec.row_shape = {4, 4, 1};
  RowBatch batch;
  append_rows(spec, 0, {testing::make_image(4, 4, 1, 1), 3, "a.png"}, batch);
  EXPECT_EQ(batch.rows(), 1);
  EXPECT_EQ(batch.labels[0], 3);
  try {
    append_rows(spec, 1, {testing::make_image(5, 4, 1, 1), 0, "big.png"}, batch);
    FAIL() << "a 5x4 image became a 4x4 row";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("big.png"), std::string::npos);
  }
  EXPECT_EQ(batch.rows(), 1);
  EXPECT_EQ(batch.pixels.size(), 16u);
}

TEST(RowMaker, ColourBecomesGreyAndTilesRecordTheirSource) {
  RowSpec spec;
  spec.mode = RowSpec::Mode::kTiles;
  spec.row_shape = {8, 8, 1};
  RowBatch batch;
  append_rows(spec, 0, {testing::make_image(9, 17, 3, 1), -1, "p.png"}, batch);
  EXPECT_EQ(batch.rows(), 6);
  ASSERT_EQ(batch.sources.size(), 1u);
  EXPECT_EQ(batch.sources[0].height, 9);
  EXPECT_EQ(batch.sources[0].width, 17);
  EXPECT_EQ(batch.names[5], "p.png@8,16");
  EXPECT_EQ(batch.tiles[5 * 4 + 1], 8);
  EXPECT_EQ(batch.tiles[5 * 4 + 2], 16);
}

TEST(RowMaker, TooSmallForPatchesLeavesTheBatchUnchanged) {
  RowSpec spec;
  spec.mode = RowSpec::Mode::kPatches;
  spec.row_shape = {8, 8, 1};
  spec.per_image = 3;
  RowBatch batch;
  EXPECT_THROW(append_rows(spec, 0, {testing::make_image(7, 20, 1, 1), 0, "s.png"}, batch), Error);
  EXPECT_EQ(batch.rows(), 0);
  EXPECT_TRUE(batch.pixels.empty());
}

}  // namespace
}  // namespace aepipe::data
