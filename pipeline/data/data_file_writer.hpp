#pragma once
// Writes a `data` file (data/data_file.hpp) from every rank of a communicator.
//
// Each append() is one collective round: rank r's rows follow the rows of ranks < r (offset
// from an exscan) and all rows of earlier rounds. Pixels, labels and tiles are written in
// parallel with collective MPI-IO transfers. Strings (names, sources) cannot be written in
// parallel by HDF5 1.10, so rank 0 gathers them each round into spill files beside the output
// (memory stays bounded) and writes them after the parallel phase from a serial open.
// The file is written under a temporary name and renamed by finish().
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/data_file.hpp"
#include "data/row_batch.hpp"
#include "h5/dataset.hpp"
#include "h5/file.hpp"
#include "mpi/communicator.hpp"

namespace aepipe::data {

struct DataFileMetadata {
  std::vector<std::string> classes;
  std::string source;  // a description of the inputs
  std::int64_t skipped_inputs = 0;
};

class DataFileWriter {
 public:
  // Collective. `output` must already have passed check_output_path().
  DataFileWriter(const mpi::Communicator& comm, std::string output, const DataFileLayout& layout);
  // Removes the temporary files if finish() was not reached (collective close in parallel).
  ~DataFileWriter();
  DataFileWriter(const DataFileWriter&) = delete;
  DataFileWriter& operator=(const DataFileWriter&) = delete;

  // Collective: appends this rank's rows (possibly none). The batch's tile source indices are
  // local to the batch; they are made global here.
  void append(RowBatch& batch);

  // Collective: writes the strings and metadata, closes and renames to the final name.
  void finish(const DataFileMetadata& metadata);

  std::int64_t rows() const { return rows_; }
  std::int64_t sources() const { return sources_; }
  std::uint64_t bytes_written() const { return bytes_written_; }

 private:
  void spill_strings(const RowBatch& batch);
  void gather_and_spill(const RowBatch& batch);
  void write_strings_serially(const DataFileMetadata& metadata);
  void remove_temporaries() noexcept;

  const mpi::Communicator& comm_;
  std::string output_;
  std::string temporary_;
  std::string names_spill_;
  std::string sources_spill_;
  DataFileLayout layout_;
  std::optional<h5::File> file_;
  std::optional<h5::Dataset> images_;
  std::optional<h5::Dataset> labels_;
  std::optional<h5::Dataset> tiles_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> names_out_{nullptr, std::fclose};
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> sources_out_{nullptr, std::fclose};
  std::int64_t rows_ = 0;
  std::int64_t sources_ = 0;
  std::uint64_t bytes_written_ = 0;
  bool finished_ = false;
};

}  // namespace aepipe::data
