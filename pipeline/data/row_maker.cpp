#include "data/row_maker.hpp"

#include "data/image_codec.hpp"
#include "data/tiling.hpp"
#include "util/error.hpp"

namespace aepipe::data {
namespace {

void append_named_origins(const std::string& name, const std::vector<TileOrigin>& origins,
                          std::int32_t label, std::int64_t source, RowBatch& batch) {
  for (const auto& origin : origins) {
    batch.labels.push_back(label);
    batch.names.push_back(cat(name, "@", origin.row, ",", origin.col));
    if (source >= 0) batch.tiles.insert(batch.tiles.end(), {source, origin.row, origin.col, 0});
  }
}

}  // namespace

void append_rows(const RowSpec& spec, std::int64_t index, SourceItem&& item, RowBatch& batch) {
  Image image = std::move(item.image);
  if (image.height <= 0 || image.width <= 0)
    throw Error(cat("image ", item.name, " is empty (", image.height, "x", image.width, ")"));
  if (spec.row_shape.channels == 1 && image.channels != 1) image = to_grayscale(image);
  if (image.channels != spec.row_shape.channels)
    throw Error(cat("image ", item.name, " has ", image.channels, " channels, expected ",
                    spec.row_shape.channels));
  if (spec.resize_height > 0) image = resize_image(image, spec.resize_height, spec.resize_width);

  switch (spec.mode) {
    case RowSpec::Mode::kWhole: {
      if (image.height != spec.row_shape.height || image.width != spec.row_shape.width)
        throw Error(cat("image ", item.name, " is ", image.height, "x", image.width, ", expected ",
                        spec.row_shape.height, "x", spec.row_shape.width,
                        " like the first image (use --resize HxW or --tile N)"));
      batch.pixels.insert(batch.pixels.end(), image.pixels.begin(), image.pixels.end());
      batch.labels.push_back(item.label);
      batch.names.push_back(std::move(item.name));
      return;
    }
    case RowSpec::Mode::kTiles: {
      const auto origins = cut_tiles(image, spec.row_shape.height, batch.pixels);
      const auto source = static_cast<std::int64_t>(batch.sources.size());
      batch.sources.push_back({item.name, image.height, image.width});
      append_named_origins(item.name, origins, item.label, source, batch);
      return;
    }
    case RowSpec::Mode::kPatches: {
      const size_t before = batch.pixels.size();
      try {
        const auto origins = sample_patches(image, spec.row_shape.height, spec.per_image, spec.seed,
                                            static_cast<std::uint64_t>(index), batch.pixels);
        append_named_origins(item.name, origins, item.label, -1, batch);
      } catch (const Error& error) {
        batch.pixels.resize(before);
        throw Error(cat(item.name, ": ", error.what()));
      }
      return;
    }
  }
}

}  // namespace aepipe::data
