#include <gtest/gtest.h>

#include <cmath>

#include "report/contrast.hpp"
#include "report/tile_grid.hpp"

namespace aepipe::report {
namespace {

TEST(ReportTiles, GridShapeCountsCellsGapsAndBorders) {
  // 3 rows of 16 Fashion-MNIST images at zoom 2: 56-pixel cells, 1-pixel gaps.
  EXPECT_EQ(grid_shape({3, 16, {28, 28, 1}, 2, 1, 0, 0}), (data::ImageShape{172, 913, 1}));
  // Retrieval: 8 x 11 cells of 28x28 at zoom 2 with a 2-pixel frame, 4-pixel gaps, colour.
  EXPECT_EQ(grid_shape({8, 11, {28, 28, 1}, 2, 4, 2, 3}),
            (data::ImageShape{8 * 60 + 9 * 4, 11 * 60 + 12 * 4, 3}));
  EXPECT_EQ(grid_shape({1, 1, {8, 8, 3}, 7, 0, 0, 0}), (data::ImageShape{56, 56, 3}));
}

TEST(ReportTiles, ZoomShowsTilesAboutFiftySixPixelsTall) {
  EXPECT_EQ(zoom_for({28, 28, 1}), 2);
  EXPECT_EQ(zoom_for({8, 8, 1}), 7);
  EXPECT_EQ(zoom_for({4, 4, 3}), 8);  // at most 8
  EXPECT_EQ(zoom_for({64, 64, 3}), 1);
  EXPECT_EQ(zoom_for({16, 200, 1}), 1);
}

TEST(ReportTiles, SquareGridsHoldEveryTile) {
  EXPECT_EQ(square_grid(25, 40), (std::array<int, 2>{5, 5}));
  EXPECT_EQ(square_grid(26, 40), (std::array<int, 2>{5, 6}));
  EXPECT_EQ(square_grid(400, 40), (std::array<int, 2>{20, 20}));
  EXPECT_EQ(square_grid(1000, 10), (std::array<int, 2>{100, 10}));
  EXPECT_EQ(square_grid(1, 40), (std::array<int, 2>{1, 1}));
}

TEST(ReportTiles, TilesAreEnlargedIntoTheirCells) {
  const GridLayout layout{2, 3, {2, 2, 1}, 3, 1, 0, 0};
  TileGrid grid(layout, 255);
  const std::uint8_t tile[4] = {10, 20, 30, 40};
  grid.place(1, 2, tile);
  const auto [top, left] = grid.tile_origin(1, 2);
  EXPECT_EQ(top, 1 + 6 + 1);
  EXPECT_EQ(left, 1 + 2 * (6 + 1));
  const auto& image = grid.image();
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 6; ++x)
      EXPECT_EQ(*image.at(top + y, left + x), tile[(y / 3) * 2 + x / 3]) << y << "," << x;
  // Gaps and the other cells keep the background.
  EXPECT_EQ(*image.at(top - 1, left), 255);
  EXPECT_EQ(*image.at(top, left - 1), 255);
  EXPECT_EQ(*image.at(1, 1), 255);
}

TEST(ReportTiles, GreyTilesFillColourGridsAndFramesAreColoured) {
  const GridLayout layout{1, 2, {1, 1, 1}, 2, 1, 1, 3};
  TileGrid grid(layout, 255);
  const std::uint8_t tile[1] = {77};
  grid.place(0, 1, tile);
  grid.frame(0, 1, {200, 10, 20});
  const auto [top, left] = grid.tile_origin(0, 1);
  const std::uint8_t* pixel = grid.image().at(top, left);
  EXPECT_EQ(pixel[0], 77);
  EXPECT_EQ(pixel[1], 77);
  EXPECT_EQ(pixel[2], 77);
  for (const auto [y, x] : {std::array<int, 2>{top - 1, left - 1},
                            {top + 2, left + 2},
                            {top - 1, left + 2},
                            {top + 2, left - 1}}) {
    const std::uint8_t* frame = grid.image().at(y, x);
    EXPECT_EQ(frame[0], 200) << y << "," << x;
    EXPECT_EQ(frame[1], 10);
    EXPECT_EQ(frame[2], 20);
  }
  EXPECT_EQ(*grid.image().at(top + 2, left + 3), 255);  // the gap after the cell
}

TEST(ReportTiles, ContrastMapsTheMeanToGreyAndTheLargestDeviationToAnEnd) {
  const float values[4] = {1.0f, 2.0f, 3.0f, 6.0f};  // mean 3, largest deviation 3
  const auto levels = contrast_tile(values);
  EXPECT_EQ(levels, (std::vector<std::uint8_t>{43, 86, 128, 255}));
  const float negative[3] = {0.0f, 0.0f, -3.0f};  // mean -1: -3 is the largest deviation
  EXPECT_EQ(contrast_tile(negative), (std::vector<std::uint8_t>{192, 192, 1}));
  const float constant[3] = {0.5f, 0.5f, 0.5f};
  EXPECT_EQ(contrast_tile(constant), (std::vector<std::uint8_t>{128, 128, 128}));
  const float broken[2] = {NAN, 1.0f};
  EXPECT_EQ(contrast_tile(broken), (std::vector<std::uint8_t>{128, 128}));
}

}  // namespace
}  // namespace aepipe::report
