#include "data/data_file_reader.hpp"

#include "data/image_codec.hpp"
#include "h5/check.hpp"
#include "h5/format.hpp"
#include "util/error.hpp"

namespace aepipe::data {

DataFileReader::DataFileReader(const std::string& path)
    : path_(path), file_(h5::File::open(path, h5::File::Mode::kReadOnly, nullptr)) {
  h5::require_format(file_, kDataFormat, kDataVersion);
  images_.emplace(h5::Dataset::open(file_, "/images"));
  const auto dims = images_->dims();
  if (dims.size() != 4)
    throw Error(cat(images_->where(), " has ", dims.size(), " dimensions, expected [N, H, W, C]"));
  h5::Handle type = images_->file_type();
  if (H5Tget_class(type.get()) != H5T_INTEGER || H5Tget_size(type.get()) != 1)
    throw Error(cat(images_->where(), " is not uint8"));
  // Bounded before the int conversion: a damaged header can hold any 64-bit size.
  const auto max_pixels = static_cast<hsize_t>(kMaxImagePixels);
  if (dims[1] > max_pixels || dims[2] > max_pixels || dims[1] * dims[2] > max_pixels || dims[3] > 4)
    throw Error(cat(images_->where(), " holds images of ", dims[1], "x", dims[2], "x", dims[3],
                    ", more than ", kMaxImagePixels, " pixels or 4 channels"));
  shape_ = {static_cast<int>(dims[1]), static_cast<int>(dims[2]), static_cast<int>(dims[3])};
  rows_ = static_cast<std::int64_t>(dims[0]);
  if (shape_.bytes() == 0) throw Error(cat(images_->where(), " holds empty images"));
  h5::Handle plist(
      h5::check_id(H5Dget_create_plist(images_->id()), "layout of " + images_->where()));
  if (H5Pget_layout(plist.get()) == H5D_CHUNKED) {
    std::vector<hsize_t> chunk(dims.size());
    H5Pget_chunk(plist.get(), static_cast<int>(chunk.size()), chunk.data());
    chunk_rows_ = std::max<std::int64_t>(1, static_cast<std::int64_t>(chunk[0]));
  } else {
    chunk_rows_ = std::max<std::int64_t>(1, (1 << 20) / row_bytes());
  }
  if (h5::exists(file_, "/labels")) {
    labels_.emplace(h5::Dataset::open(file_, "/labels"));
    if (labels_->rows() != dims[0])
      throw Error(cat(labels_->where(), " has ", labels_->rows(), " rows but /images has ", rows_));
  }
  if (h5::exists(file_, "/tiles")) {
    tiles_.emplace(h5::Dataset::open(file_, "/tiles"));
    const auto tile_dims = tiles_->dims();
    if (tile_dims.size() != 2 || tile_dims[0] != dims[0] || tile_dims[1] != 4)
      throw Error(cat(tiles_->where(), " is not of shape [", rows_, ", 4]"));
    if (!h5::exists(file_, "/sources"))
      throw Error(cat(path_, " has /tiles but no /sources table"));
  }
}

void DataFileReader::read_images(std::int64_t first, std::int64_t count, std::uint8_t* out) const {
  images_->read_rows(static_cast<hsize_t>(first), static_cast<hsize_t>(count), out);
}

std::vector<std::int32_t> DataFileReader::read_labels(std::int64_t first,
                                                      std::int64_t count) const {
  std::vector<std::int32_t> labels(static_cast<size_t>(count), -1);
  if (labels_)
    labels_->read_rows(static_cast<hsize_t>(first), static_cast<hsize_t>(count), labels.data());
  return labels;
}

}  // namespace aepipe::data

namespace aepipe::data {

std::vector<std::int64_t> DataFileReader::read_tiles(std::int64_t first, std::int64_t count) const {
  if (!tiles_) throw Error(cat("internal: ", path_, " has no /tiles"));
  std::vector<std::int64_t> tiles(static_cast<size_t>(count) * 4);
  tiles_->read_rows(static_cast<hsize_t>(first), static_cast<hsize_t>(count), tiles.data());
  return tiles;
}

}  // namespace aepipe::data
