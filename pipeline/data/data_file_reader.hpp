#pragma once
// Reads a `data` file (data/data_file.hpp) from one process: each rank opens it on its own,
// read-only, so reads never need the other ranks.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/data_file.hpp"
#include "h5/dataset.hpp"
#include "h5/file.hpp"

namespace aepipe::data {

class DataFileReader {
 public:
  // Checks the format tag and version and the /images shape; throws Error naming the file.
  explicit DataFileReader(const std::string& path);

  const std::string& path() const { return path_; }
  std::int64_t rows() const { return rows_; }
  const ImageShape& shape() const { return shape_; }
  std::int64_t row_bytes() const { return static_cast<std::int64_t>(shape_.bytes()); }
  // Rows per /images chunk: the unit of streaming.
  std::int64_t chunk_rows() const { return chunk_rows_; }
  bool has_labels() const { return labels_.has_value(); }
  bool has_tiles() const { return tiles_.has_value(); }
  const h5::File& file() const { return file_; }

  // Rows [first, first + count) into out (count * row_bytes bytes).
  void read_images(std::int64_t first, std::int64_t count, std::uint8_t* out) const;
  std::vector<std::int32_t> read_labels(std::int64_t first, std::int64_t count) const;
  // [count * 4]: (source, row, col, 0) per tile row.
  std::vector<std::int64_t> read_tiles(std::int64_t first, std::int64_t count) const;

 private:
  std::string path_;
  h5::File file_;
  std::optional<h5::Dataset> images_;
  std::optional<h5::Dataset> labels_;
  std::optional<h5::Dataset> tiles_;
  ImageShape shape_;
  std::int64_t rows_ = 0;
  std::int64_t chunk_rows_ = 1;
};

}  // namespace aepipe::data
