#pragma once
// Where ingest reads images from: a sequence of items known up front (IDX rows, image files,
// HDF5 rows), read in increasing ranges by each rank. Opening a source is collective (some
// list or probe on rank 0 and broadcast); read() is local to the rank.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/image.hpp"
#include "data/row_maker.hpp"

namespace aepipe::data {

// Receives the items of read(): `take` for a decoded item, `bad` for one that cannot be
// decoded (the caller decides whether that is fatal or skipped).
struct ItemSink {
  std::function<void(std::int64_t index, SourceItem&& item)> take;
  std::function<void(std::int64_t index, const std::string& name, const std::string& why)> bad;
};

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  virtual std::int64_t size() const = 0;
  // The shape of every item (IDX, HDF5) or of the first decodable one (folders).
  virtual ImageShape natural_shape() const = 0;
  virtual bool has_labels() const = 0;
  virtual std::vector<std::string> classes() const { return {}; }
  // Items [first, first + count); first never decreases between calls on one rank.
  // `channels` is the channel count wanted (decoders may produce it directly).
  virtual void read(std::int64_t first, std::int64_t count, int channels, ItemSink& sink) = 0;
};

// Items of several sources one after another (several IDX files, several HDF5 datasets).
// All must have the same natural shape and agree on having labels.
// Throws, naming both, unless `part` has `first`'s image shape and labels (or lack of them).
void check_joinable(const ImageSource& first, const ImageSource& part);
std::unique_ptr<ImageSource> concatenate(std::vector<std::unique_ptr<ImageSource>> parts);

}  // namespace aepipe::data
