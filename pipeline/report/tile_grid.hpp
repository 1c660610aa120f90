#pragma once
// Many small images (tiles) laid out as one picture: a grid of `rows` x `cols` cells, each
// holding a tile of shape [H, W, C] enlarged `zoom` times (nearest neighbour, so pixels stay
// sharp), inside a `border` that can be coloured per cell (retrieval marks right and wrong
// neighbours), with `gap` background pixels between cells and around the grid.
//   cell   = tile * zoom + 2 * border                     (pixels, each direction)
//   grid   = cols * cell_width + (cols + 1) * gap  wide,  rows * cell_height + (rows + 1) * gap
#include <array>
#include <cstdint>

#include "data/image.hpp"

namespace aepipe::report {

using Rgb = std::array<std::uint8_t, 3>;

struct GridLayout {
  int rows = 1, cols = 1;
  data::ImageShape tile;  // [H, W, C] of every tile
  int zoom = 1;           // each tile pixel becomes zoom x zoom
  int gap = 1;            // background pixels between cells
  int border = 0;         // frame pixels inside each cell, around its tile
  int channels = 0;       // of the grid image: 0 = the tiles' (3 is needed for coloured frames)
};

// A zoom that shows a tile of this shape about 56 pixels tall (1..8): 28x28 digits twice,
// 8x8 patches seven times.
int zoom_for(const data::ImageShape& tile);

// Cells to place `count` tiles in a square-ish grid of at most `max_cols` columns: (rows, cols).
std::array<int, 2> square_grid(int count, int max_cols);

// The grid image's shape for `layout`.
data::ImageShape grid_shape(const GridLayout& layout);

class TileGrid {
 public:
  // A grid filled with the background grey level (0..255).
  explicit TileGrid(const GridLayout& layout, std::uint8_t background = 255);

  // Copies `tile` (layout.tile.bytes() bytes, [H, W, C] row-major) into cell (row, col); grey
  // tiles are repeated into every channel of a colour grid.
  void place(int row, int col, const std::uint8_t* tile);
  // Paints the border of cell (row, col) (grey grids take the colour's mean).
  void frame(int row, int col, const Rgb& colour);
  // Top-left pixel (y, x) of the tile inside cell (row, col).
  std::array<int, 2> tile_origin(int row, int col) const;

  const data::Image& image() const { return image_; }
  const GridLayout& layout() const { return layout_; }

 private:
  void fill(int top, int left, int height, int width, const Rgb& colour);

  GridLayout layout_;
  data::Image image_;
};

}  // namespace aepipe::report
