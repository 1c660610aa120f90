#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/image_source.hpp"

namespace aepipe::data {

// Images from an IDX file of unsigned bytes, [N, H, W] or [N, H, W, C] with C in {1, 3},
// with labels from an optional one-dimensional integer IDX file of N rows. Names are
// "<file name>:<row>". Opening reads only the headers (every rank does it).
std::unique_ptr<ImageSource> open_idx_source(const std::string& images_path,
                                             const std::string& labels_path);

class IdxSource;

// The same images (several IDX files one after another, as concatenate() joins their
// sources) read as stored, straight into a caller's buffer, with no per-image objects: for
// ingest when rows go into the data file unchanged. Rows are read in increasing order.
class IdxRows {
 public:
  // labels_paths is empty or holds one label file per image file. Throws like
  // open_idx_source() and concatenate().
  IdxRows(const std::vector<std::string>& images_paths,
          const std::vector<std::string>& labels_paths);
  ~IdxRows();
  IdxRows(const IdxRows&) = delete;
  IdxRows& operator=(const IdxRows&) = delete;

  std::int64_t size() const { return size_; }
  // Rows [first, first + count): count * natural_shape().bytes() bytes into `pixels`. Whoever
  // reads the last row of a file checks that the file ends there intact.
  void read_pixels(std::int64_t first, std::int64_t count, std::uint8_t* pixels);
  // Appends the labels (-1 without label files) and names of rows [first, first + count),
  // the values ImageSource::read() gives for them.
  void read_labels_and_names(std::int64_t first, std::int64_t count,
                             std::vector<std::int32_t>& labels, std::vector<std::string>& names);

 private:
  template <class Fn>
  void for_parts(std::int64_t first, std::int64_t count, Fn&& fn);

  std::vector<std::unique_ptr<IdxSource>> parts_;
  std::vector<std::int64_t> starts_;
  std::int64_t size_ = 0;
};

}  // namespace aepipe::data
