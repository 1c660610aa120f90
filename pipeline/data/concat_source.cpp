#include <algorithm>

#include "data/image_source.hpp"
#include "util/error.hpp"

namespace aepipe::data {
namespace {

class ConcatSource final : public ImageSource {
 public:
  explicit ConcatSource(std::vector<std::unique_ptr<ImageSource>> parts)
      : parts_(std::move(parts)) {
    std::int64_t total = 0;
    for (const auto& part : parts_) {
      starts_.push_back(total);
      total += part->size();
    }
    size_ = total;
  }
  std::int64_t size() const override { return size_; }
  ImageShape natural_shape() const override { return parts_.front()->natural_shape(); }
  bool has_labels() const override { return parts_.front()->has_labels(); }

  void read(std::int64_t first, std::int64_t count, int channels, ItemSink& sink) override {
    for (size_t i = 0; i < parts_.size() && count > 0; ++i) {
      const std::int64_t start = starts_[i];
      const std::int64_t end = start + parts_[i]->size();
      if (first >= end) continue;
      const std::int64_t take = std::min(count, end - first);
      // Part-local indices are shifted back to global ones for the sink.
      ItemSink shifted{
          [&](std::int64_t index, SourceItem&& item) { sink.take(index + start, std::move(item)); },
          [&](std::int64_t index, const std::string& name, const std::string& why) {
            sink.bad(index + start, name, why);
          }};
      parts_[i]->read(first - start, take, channels, shifted);
      first += take;
      count -= take;
    }
  }

 private:
  std::vector<std::unique_ptr<ImageSource>> parts_;
  std::vector<std::int64_t> starts_;
  std::int64_t size_ = 0;
};

}  // namespace

void check_joinable(const ImageSource& first, const ImageSource& part) {
  if (!(part.natural_shape() == first.natural_shape()))
    throw Error(cat("inputs differ in image shape: ", part.natural_shape().height, "x",
                    part.natural_shape().width, "x", part.natural_shape().channels, " vs ",
                    first.natural_shape().height, "x", first.natural_shape().width, "x",
                    first.natural_shape().channels));
  if (part.has_labels() != first.has_labels())
    throw Error("some inputs have labels and some do not");
}

std::unique_ptr<ImageSource> concatenate(std::vector<std::unique_ptr<ImageSource>> parts) {
  if (parts.empty()) throw Error("no inputs");
  if (parts.size() == 1) return std::move(parts.front());
  for (const auto& part : parts) check_joinable(*parts.front(), *part);
  return std::make_unique<ConcatSource>(std::move(parts));
}

}  // namespace aepipe::data
