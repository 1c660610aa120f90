#include "data/idx_source.hpp"

#include <filesystem>
#include <optional>

#include "data/idx_file.hpp"
#include "data/image_codec.hpp"
#include "util/error.hpp"

namespace aepipe::data {
namespace {

class IdxSource final : public ImageSource {
 public:
  IdxSource(const std::string& images_path, const std::string& labels_path)
      : images_(images_path), file_name_(std::filesystem::path(images_path).filename().string()) {
    const IdxHeader& header = images_.header();
    if (header.type != IdxType::kUint8)
      throw Error(cat(images_path, ": IDX images must be unsigned bytes (type 0x08), found type 0x",
                      std::hex, static_cast<int>(header.type)));
    if (header.dims.size() != 3 && header.dims.size() != 4)
      throw Error(cat(images_path,
                      ": IDX images must have 3 dimensions [N, H, W] or 4 [N, H, W, "
                      "C], found ",
                      header.dims.size()));
    const std::uint64_t height = header.dims[1], width = header.dims[2];
    const std::uint64_t channels = header.dims.size() == 4 ? header.dims[3] : 1;
    if (height == 0 || width == 0)
      throw Error(cat(images_path, ": images of size ", height, "x", width));
    // A gzip'd header can promise anything: refuse what no image decoder would allocate
    // (and what would not fit the int sizes below).
    if (height * width > static_cast<std::uint64_t>(kMaxImagePixels))
      throw Error(cat(images_path, ": images of ", height, "x", width,
                      " pixels are more than the limit of ", kMaxImagePixels));
    if (channels != 1 && channels != 3)
      throw Error(cat(images_path, ": images with ", channels, " channels (1 or 3 supported)"));
    shape_ = {static_cast<int>(height), static_cast<int>(width), static_cast<int>(channels)};
    if (!labels_path.empty()) {
      labels_.emplace(labels_path);
      if (labels_->header().dims.size() != 1)
        throw Error(cat(labels_path, ": an IDX label file must have 1 dimension, found ",
                        labels_->header().dims.size()));
      if (labels_->header().rows() != header.rows())
        throw Error(cat(labels_path, " has ", labels_->header().rows(), " labels but ", images_path,
                        " has ", header.rows(), " images"));
    }
  }

  std::int64_t size() const override { return static_cast<std::int64_t>(images_.header().rows()); }
  ImageShape natural_shape() const override { return shape_; }
  bool has_labels() const override { return labels_.has_value(); }

  void read(std::int64_t first, std::int64_t count, int /*channels*/, ItemSink& sink) override {
    if (count <= 0) return;
    const auto start = static_cast<std::uint64_t>(first);
    const auto rows = static_cast<std::uint64_t>(count);
    std::vector<std::uint8_t> pixels(rows * shape_.bytes());
    images_.read_rows(start, rows, pixels.data());
    std::vector<std::int32_t> labels;
    if (labels_) labels = labels_->read_labels(start, rows);
    if (start + rows == images_.header().rows()) {
      // Whoever reads the last row checks the files end there intact (gzip CRC included).
      images_.verify_end();
      if (labels_) labels_->verify_end();
    }
    for (std::uint64_t i = 0; i < rows; ++i) {
      SourceItem item{{shape_.height, shape_.width, shape_.channels, {}},
                      labels_ ? labels[i] : -1,
                      cat(file_name_, ":", start + i)};
      const auto* row = pixels.data() + i * shape_.bytes();
      item.image.pixels.assign(row, row + shape_.bytes());
      sink.take(first + static_cast<std::int64_t>(i), std::move(item));
    }
  }

 private:
  IdxFile images_;
  std::optional<IdxFile> labels_;
  std::string file_name_;
  ImageShape shape_;
};

}  // namespace

std::unique_ptr<ImageSource> open_idx_source(const std::string& images_path,
                                             const std::string& labels_path) {
  return std::make_unique<IdxSource>(images_path, labels_path);
}

}  // namespace aepipe::data
