#include "data/hdf5_source.hpp"

#include <cmath>
#include <optional>

#include "data/image_codec.hpp"
#include "h5/check.hpp"
#include "h5/dataset.hpp"
#include "h5/strings.hpp"
#include "util/error.hpp"

namespace aepipe::data {
namespace {

std::string sibling(const std::string& dataset, const std::string& leaf) {
  const size_t slash = dataset.rfind('/');
  return slash == std::string::npos ? leaf : dataset.substr(0, slash + 1) + leaf;
}

class Hdf5Source final : public ImageSource {
 public:
  Hdf5Source(const std::string& path, const std::string& dataset, const mpi::Communicator& comm)
      : file_(h5::File::open(path, h5::File::Mode::kReadOnly, &comm)),
        images_(h5::Dataset::open(file_, dataset)) {
    const auto dims = images_.dims();
    if (dims.size() != 3 && dims.size() != 4)
      throw Error(cat(images_.where(), " has ", dims.size(),
                      " dimensions; images must be [N, H, W] or [N, H, W, C]"));
    const hsize_t height = dims[1], width = dims[2], channels = dims.size() == 4 ? dims[3] : 1;
    if (height == 0 || width == 0)
      throw Error(cat(images_.where(), " holds images of size ", height, "x", width));
    // Bounded before the int conversion: a damaged header can hold any 64-bit size.
    const auto max_pixels = static_cast<hsize_t>(kMaxImagePixels);
    if (height > max_pixels || width > max_pixels || height * width > max_pixels)
      throw Error(cat(images_.where(), " holds images of ", height, "x", width,
                      " pixels, more than the limit of ", kMaxImagePixels));
    if (channels != 1 && channels != 3)
      throw Error(cat(images_.where(), " has ", channels, " channels (1 or 3 supported)"));
    shape_ = {static_cast<int>(height), static_cast<int>(width), static_cast<int>(channels)};
    h5::Handle type = images_.file_type();
    const H5T_class_t kind = H5Tget_class(type.get());
    if (kind != H5T_INTEGER && kind != H5T_FLOAT)
      throw Error(cat(images_.where(), " holds neither integers nor floats"));
    is_float_ = kind == H5T_FLOAT;
    is_uint8_ = kind == H5T_INTEGER && H5Tget_size(type.get()) == 1 &&
                H5Tget_sign(type.get()) == H5T_SGN_NONE;

    const std::string labels_name = sibling(dataset, "labels");
    if (h5::exists(file_, labels_name)) {
      h5::Dataset labels = h5::Dataset::open(file_, labels_name);
      h5::Handle labels_type = labels.file_type();
      if (labels.dims().size() == 1 && labels.rows() == dims[0] &&
          H5Tget_class(labels_type.get()) == H5T_INTEGER)
        labels_.emplace(std::move(labels));
    }
    const std::string names_name = sibling(dataset, "names");
    if (h5::exists(file_, names_name)) {
      h5::Dataset names = h5::Dataset::open(file_, names_name);
      h5::Handle names_type = names.file_type();
      if (names.dims().size() == 1 && names.rows() == dims[0] &&
          H5Tget_class(names_type.get()) == H5T_STRING)
        names_.emplace(std::move(names));
    }
  }

  std::int64_t size() const override { return static_cast<std::int64_t>(images_.rows()); }
  ImageShape natural_shape() const override { return shape_; }
  bool has_labels() const override { return labels_.has_value(); }

  void read(std::int64_t first, std::int64_t count, int /*channels*/, ItemSink& sink) override {
    if (count <= 0) return;
    const auto start = static_cast<hsize_t>(first);
    const auto rows = static_cast<hsize_t>(count);
    const size_t row_bytes = shape_.bytes();
    std::vector<std::uint8_t> pixels(rows * row_bytes);
    if (is_uint8_) {
      images_.read_rows(start, rows, pixels.data());
    } else {
      std::vector<double> values(pixels.size());
      images_.read_rows(start, rows, values.data());
      for (size_t i = 0; i < values.size(); ++i)
        pixels[i] = to_byte(values[i], start + i / row_bytes);
    }
    std::vector<std::int32_t> labels(rows, -1);
    if (labels_) labels_->read_rows(start, rows, labels.data());
    std::vector<std::string> names;
    if (names_) names = h5::read_strings(*names_, start, rows);
    for (hsize_t i = 0; i < rows; ++i) {
      SourceItem item{{shape_.height, shape_.width, shape_.channels, {}},
                      labels[i],
                      names_ ? names[i] : cat(images_.where(), "[", start + i, "]")};
      const auto* row = pixels.data() + i * row_bytes;
      item.image.pixels.assign(row, row + row_bytes);
      sink.take(first + static_cast<std::int64_t>(i), std::move(item));
    }
  }

 private:
  std::uint8_t to_byte(double value, hsize_t row) const {
    if (is_float_) {
      if (!std::isfinite(value) || value < 0.0 || value > 1.0)
        throw Error(cat(images_.where(), " row ", row, " holds ", value,
                        "; floating-point images must lie in [0, 1]"));
      return static_cast<std::uint8_t>(std::lround(value * 255.0));
    }
    if (value < 0.0 || value > 255.0)
      throw Error(cat(images_.where(), " row ", row, " holds ", value,
                      "; integer images must lie in 0..255"));
    return static_cast<std::uint8_t>(value);
  }

  h5::File file_;
  h5::Dataset images_;
  std::optional<h5::Dataset> labels_;
  std::optional<h5::Dataset> names_;
  ImageShape shape_;
  bool is_float_ = false;
  bool is_uint8_ = false;
};

}  // namespace

std::unique_ptr<ImageSource> open_hdf5_source(const std::string& path, const std::string& dataset,
                                              const mpi::Communicator& comm) {
  return std::make_unique<Hdf5Source>(path, dataset, comm);
}

}  // namespace aepipe::data
