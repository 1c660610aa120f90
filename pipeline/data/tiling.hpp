#pragma once
// Cutting images into fixed-size rows for a data file:
//   tiles    cover an image completely in a grid of size x size tiles; tiles that cross the
//            right or bottom edge are padded by repeating the last row/column of pixels
//            (smoother than zeros for a codec, and cropped away on reassembly);
//   patches  `count` size x size windows at uniformly random positions, drawn from a
//            generator seeded by (seed, item index) so every rank count draws the same ones.
#include <cstdint>
#include <vector>

#include "data/image.hpp"

namespace aepipe::data {

struct TileOrigin {
  std::int64_t row = 0;  // top-left pixel of the tile in the source image
  std::int64_t col = 0;
};

// Tiles in row-major grid order; tile i's pixels go to out + i * size*size*channels.
std::vector<TileOrigin> cut_tiles(const Image& image, int size, std::vector<std::uint8_t>& out);

// Number of tiles cut_tiles makes: ceil(h/size) * ceil(w/size).
std::int64_t tile_count(int height, int width, int size);

// Appends `count` patches to out; returns their origins. Requires image >= size on both sides.
std::vector<TileOrigin> sample_patches(const Image& image, int size, int count, std::uint64_t seed,
                                       std::uint64_t item, std::vector<std::uint8_t>& out);

// Reassembles an image of height x width from tiles (the inverse of cut_tiles, for tests
// and decode): tiles[i] has the pixels of origins[i].
Image assemble_tiles(int height, int width, int channels, int size,
                     const std::vector<TileOrigin>& origins, const std::uint8_t* tiles);

}  // namespace aepipe::data
