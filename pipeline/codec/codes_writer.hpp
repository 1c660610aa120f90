#pragma once
// Writes a `codes` file (codec/codes_file.hpp) from every rank of a communicator: the numeric
// datasets are created at their final size and each write() is one collective round in which
// every rank writes its rows (possibly none) wherever they belong. finish() copies the
// strings (names, sources, classes) from the data file serially on rank 0, writes the
// attributes and quantiser, and renames the temporary file to the output.
#include <Eigen/Core>
#include <optional>
#include <span>
#include <string>

#include "codec/codes_file.hpp"
#include "codec/quantiser.hpp"
#include "h5/dataset.hpp"
#include "h5/file.hpp"
#include "mpi/communicator.hpp"

namespace aepipe::codec {

class CodesWriter {
 public:
  // Collective. `output` must have passed check_output_path(). `quantiser` is required iff
  // layout.bits > 0.
  CodesWriter(const mpi::Communicator& comm, std::string output, const CodesLayout& layout,
              std::optional<Quantiser> quantiser);
  ~CodesWriter();  // removes the temporary file unless finish() was reached
  CodesWriter(const CodesWriter&) = delete;
  CodesWriter& operator=(const CodesWriter&) = delete;

  // Collective: rows [first, first + codes.cols()) of this rank.
  //   codes   [k, n] column-major, one column per row (top-k codes: zero where not kept)
  //   kept    [k, n] 1 where a sparse code keeps a unit (sparse layouts only)
  //   labels  [n] (if layout.labels), tiles [n * 4] (if layout.tiles)
  void write(std::int64_t first, const Eigen::MatrixXf& codes, const Eigen::MatrixXf* kept,
             std::span<const std::int32_t> labels, std::span<const std::int64_t> tiles);

  // Collective: strings from `origin.source`, attributes, quantiser; renames to the output.
  void finish(const CodesOrigin& origin);

 private:
  void write_serial_part(const CodesOrigin& origin);

  const mpi::Communicator& comm_;
  std::string output_;
  std::string temporary_;
  CodesLayout layout_;
  std::optional<Quantiser> quantiser_;
  std::optional<h5::File> file_;
  std::optional<h5::Dataset> values_;   // /codes or /values
  std::optional<h5::Dataset> indices_;  // sparse
  std::optional<h5::Dataset> labels_;
  std::optional<h5::Dataset> tiles_;
  bool finished_ = false;
};

}  // namespace aepipe::codec
