#include "data/idx_source.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <utility>

#include "data/idx_file.hpp"
#include "data/image_codec.hpp"
#include "util/error.hpp"

namespace aepipe::data {

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
    read_pixels(start, rows, pixels.data());
    std::vector<std::int32_t> labels;
    std::vector<std::string> names;
    read_labels_and_names(start, rows, labels, names);
    for (std::uint64_t i = 0; i < rows; ++i) {
      SourceItem item{
          {shape_.height, shape_.width, shape_.channels, {}}, labels[i], std::move(names[i])};
      const auto* row = pixels.data() + i * shape_.bytes();
      item.image.pixels.assign(row, row + shape_.bytes());
      sink.take(first + static_cast<std::int64_t>(i), std::move(item));
    }
  }

  // Rows [first, first + count) of this file as stored (read() and IdxRows::read_pixels).
  // Whoever reads the last row checks the file ends there intact (gzip CRC included).
  void read_pixels(std::uint64_t first, std::uint64_t count, std::uint8_t* pixels) {
    if (count == 0) return;
    images_.read_rows(first, count, pixels);
    if (first + count == images_.header().rows()) images_.verify_end();
  }

  // The labels (-1 without a label file) and names of those rows (read() and
  // IdxRows::read_labels_and_names); the label file's end is checked likewise.
  void read_labels_and_names(std::uint64_t first, std::uint64_t count,
                             std::vector<std::int32_t>& labels, std::vector<std::string>& names) {
    if (count == 0) return;
    if (labels_) {
      const std::vector<std::int32_t> read = labels_->read_labels(first, count);
      labels.insert(labels.end(), read.begin(), read.end());
      if (first + count == labels_->header().rows()) labels_->verify_end();
    } else {
      labels.insert(labels.end(), count, -1);
    }
    const std::string prefix = file_name_ + ":";
    names.reserve(names.size() + count);
    for (std::uint64_t i = 0; i < count; ++i) names.push_back(prefix + std::to_string(first + i));
  }

 private:
  IdxFile images_;
  std::optional<IdxFile> labels_;
  std::string file_name_;
  ImageShape shape_;
};

std::unique_ptr<ImageSource> open_idx_source(const std::string& images_path,
                                             const std::string& labels_path) {
  return std::make_unique<IdxSource>(images_path, labels_path);
}

IdxRows::IdxRows(const std::vector<std::string>& images_paths,
                 const std::vector<std::string>& labels_paths) {
  if (images_paths.empty()) throw Error("no inputs");
  for (size_t i = 0; i < images_paths.size(); ++i) {
    parts_.push_back(std::make_unique<IdxSource>(
        images_paths[i], labels_paths.empty() ? std::string() : labels_paths.at(i)));
    starts_.push_back(size_);
    size_ += parts_.back()->size();
  }
  // The checks of concatenate(), with its messages.
  for (const auto& part : parts_) check_joinable(*parts_.front(), *part);
}

IdxRows::~IdxRows() = default;

// Calls fn(part, first row in the part, rows, rows done before) for the parts that hold rows
// [first, first + count).
template <class Fn>
void IdxRows::for_parts(std::int64_t first, std::int64_t count, Fn&& fn) {
  if (first < 0 || count < 0 || first + count > size_)
    throw Error(cat("internal: IDX rows [", first, ", ", first + count, ") past ", size_));
  std::int64_t done = 0;
  for (size_t i = 0; i < parts_.size() && done < count; ++i) {
    const std::int64_t at = first + done;
    const std::int64_t end = starts_[i] + parts_[i]->size();
    if (at >= end) continue;
    const std::int64_t take = std::min(count - done, end - at);
    fn(*parts_[i], static_cast<std::uint64_t>(at - starts_[i]), static_cast<std::uint64_t>(take),
       done);
    done += take;
  }
}

void IdxRows::read_pixels(std::int64_t first, std::int64_t count, std::uint8_t* pixels) {
  if (count <= 0) return;
  const std::size_t row_bytes = parts_.front()->natural_shape().bytes();
  for_parts(first, count,
            [&](IdxSource& part, std::uint64_t at, std::uint64_t rows, std::int64_t done) {
              part.read_pixels(at, rows, pixels + static_cast<std::size_t>(done) * row_bytes);
            });
}

void IdxRows::read_labels_and_names(std::int64_t first, std::int64_t count,
                                    std::vector<std::int32_t>& labels,
                                    std::vector<std::string>& names) {
  if (count <= 0) return;
  for_parts(first, count, [&](IdxSource& part, std::uint64_t at, std::uint64_t rows, std::int64_t) {
    part.read_labels_and_names(at, rows, labels, names);
  });
}

}  // namespace aepipe::data
