#pragma once
// Turns one decoded source image into rows of a data file: the whole image (optionally
// resized and/or converted to grey), its tiles, or random patches (data/tiling.hpp).
#include <cstdint>
#include <string>

#include "data/image.hpp"
#include "data/row_batch.hpp"

namespace aepipe::data {

struct RowSpec {
  enum class Mode { kWhole, kTiles, kPatches };
  Mode mode = Mode::kWhole;
  ImageShape row_shape;   // every row's [H, W, C]
  int resize_height = 0;  // 0: no resize
  int resize_width = 0;
  int per_image = 0;       // patches per image
  std::uint64_t seed = 0;  // patch positions
};

struct SourceItem {
  Image image;
  std::int32_t label = -1;
  std::string name;
};

// Appends the rows of `item` (global item index `index`) to `batch`. Throws Error (naming the
// item) if the image cannot give rows of the spec's shape; nothing is appended then.
void append_rows(const RowSpec& spec, std::int64_t index, SourceItem&& item, RowBatch& batch);

}  // namespace aepipe::data
