#include "report/tile_grid.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace aepipe::report {
namespace {

int cell_height(const GridLayout& layout) {
  return layout.tile.height * layout.zoom + 2 * layout.border;
}
int cell_width(const GridLayout& layout) {
  return layout.tile.width * layout.zoom + 2 * layout.border;
}

}  // namespace

int zoom_for(const data::ImageShape& tile) {
  const int side = std::max({tile.height, tile.width, 1});
  return std::clamp(56 / side, 1, 8);
}

std::array<int, 2> square_grid(int count, int max_cols) {
  const int cols = std::clamp(static_cast<int>(std::ceil(std::sqrt(std::max(count, 1)))), 1,
                              std::max(max_cols, 1));
  return {(std::max(count, 1) + cols - 1) / cols, cols};
}

data::ImageShape grid_shape(const GridLayout& layout) {
  const int channels = layout.channels > 0 ? layout.channels : layout.tile.channels;
  return {layout.rows * cell_height(layout) + (layout.rows + 1) * layout.gap,
          layout.cols * cell_width(layout) + (layout.cols + 1) * layout.gap, channels};
}

TileGrid::TileGrid(const GridLayout& layout, std::uint8_t background) : layout_(layout) {
  assert(layout.rows > 0 && layout.cols > 0 && layout.zoom > 0);
  assert(layout.tile.channels == 1 || layout.tile.channels == 3);
  const data::ImageShape shape = grid_shape(layout);
  assert(shape.channels >= layout.tile.channels);
  image_ = {shape.height, shape.width, shape.channels,
            std::vector<std::uint8_t>(shape.bytes(), background)};
}

std::array<int, 2> TileGrid::tile_origin(int row, int col) const {
  return {layout_.gap + row * (cell_height(layout_) + layout_.gap) + layout_.border,
          layout_.gap + col * (cell_width(layout_) + layout_.gap) + layout_.border};
}

void TileGrid::place(int row, int col, const std::uint8_t* tile) {
  assert(row >= 0 && row < layout_.rows && col >= 0 && col < layout_.cols);
  const auto [top, left] = tile_origin(row, col);
  const auto& shape = layout_.tile;
  const int zoom = layout_.zoom;
  const auto channels = static_cast<std::size_t>(image_.channels);
  for (int y = 0; y < shape.height * zoom; ++y)
    for (int x = 0; x < shape.width * zoom; ++x) {
      const std::uint8_t* source =
          tile + (static_cast<std::size_t>(y / zoom) * static_cast<std::size_t>(shape.width) +
                  static_cast<std::size_t>(x / zoom)) *
                     static_cast<std::size_t>(shape.channels);
      std::uint8_t* target =
          image_.pixels.data() +
          (static_cast<std::size_t>(top + y) * image_.width + static_cast<std::size_t>(left + x)) *
              channels;
      for (std::size_t c = 0; c < channels; ++c)
        target[c] = shape.channels == 1 ? source[0] : source[c];
    }
}

void TileGrid::frame(int row, int col, const Rgb& colour) {
  const int border = layout_.border;
  if (border == 0) return;
  const auto [top, left] = tile_origin(row, col);
  const int height = cell_height(layout_), width = cell_width(layout_);
  fill(top - border, left - border, border, width, colour);
  fill(top + height - 2 * border, left - border, border, width, colour);
  fill(top - border, left - border, height, border, colour);
  fill(top - border, left + width - 2 * border, height, border, colour);
}

void TileGrid::fill(int top, int left, int height, int width, const Rgb& colour) {
  const auto channels = static_cast<std::size_t>(image_.channels);
  const auto grey = static_cast<std::uint8_t>((colour[0] + colour[1] + colour[2]) / 3);
  for (int y = top; y < top + height; ++y)
    for (int x = left; x < left + width; ++x) {
      std::uint8_t* target =
          image_.pixels.data() +
          (static_cast<std::size_t>(y) * image_.width + static_cast<std::size_t>(x)) * channels;
      for (std::size_t c = 0; c < channels; ++c) target[c] = channels == 1 ? grey : colour[c];
    }
}

}  // namespace aepipe::report
