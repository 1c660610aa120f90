#pragma once
// Reads a `codes` file (codec/codes_file.hpp) from one process, validating what it reads:
// each rank opens it on its own, read-only.
#include <Eigen/Core>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codec/codes_file.hpp"
#include "codec/quantiser.hpp"
#include "h5/dataset.hpp"
#include "h5/file.hpp"

namespace aepipe::codec {

class CodesReader {
 public:
  // Checks the format tag, version, attributes and dataset shapes and types; throws Error
  // naming the file and what is wrong.
  explicit CodesReader(const std::string& path);

  const std::string& path() const { return path_; }
  const h5::File& file() const { return file_; }
  const CodesLayout& layout() const { return layout_; }
  const CodesOrigin& origin() const { return origin_; }
  std::int64_t rows() const { return layout_.rows; }
  std::int64_t code_size() const { return layout_.code_size; }
  const std::optional<Quantiser>& quantiser() const { return quantiser_; }

  // Rows [first, first + count) as dense float codes [k, count] (column per row; zero where
  // a sparse code keeps no value). Throws naming the row for a level out of range, a NaN or
  // infinite value, or a bad sparse index.
  void read_codes(std::int64_t first, std::int64_t count, Eigen::MatrixXf& out) const;
  std::vector<std::int32_t> read_labels(std::int64_t first, std::int64_t count) const;
  // [count * 4]: (source, row, col, 0) per row.
  std::vector<std::int64_t> read_tiles(std::int64_t first, std::int64_t count) const;

  // Bytes HDF5 stores for the codes themselves (/codes, or /indices + /values, after
  // compression) and for the quantiser (/scale, /offset).
  std::uint64_t code_bytes() const;
  std::uint64_t quantiser_bytes() const;

 private:
  void read_values(std::int64_t first, std::int64_t count, std::vector<float>& out) const;

  std::string path_;
  h5::File file_;
  CodesLayout layout_;
  CodesOrigin origin_;
  std::optional<Quantiser> quantiser_;
  std::optional<h5::Dataset> values_;   // /codes or /values
  std::optional<h5::Dataset> indices_;  // sparse
  std::optional<h5::Dataset> labels_;
  std::optional<h5::Dataset> tiles_;
};

}  // namespace aepipe::codec
