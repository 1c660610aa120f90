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
#include <functional>
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

  // Puts this rank's rows [first, first + count) of the round (local numbering) into `out`.
  using PixelFill = std::function<void(std::int64_t first, std::int64_t count, std::uint8_t* out)>;
  // Collective: like append(batch) for rows whose pixels are not in batch.pixels (batch holds
  // their labels and names; no tiles) but made by `fill` at most `piece_rows` rows at a time,
  // each piece written before the next is made, so a round needs one piece of memory (kept
  // for the next round) instead of two copies of the round. Every rank calls fill the same
  // number of times (count 0 once it has no rows left), so fill may agree on errors
  // collectively. The file is the same as append() writes: the extent grows once per round.
  void append(RowBatch& batch, std::int64_t piece_rows, const PixelFill& fill);

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
  std::unique_ptr<std::uint8_t[]> piece_;  // pixels of append(batch, piece_rows, fill)
  std::size_t piece_bytes_ = 0;
  std::int64_t rows_ = 0;
  std::int64_t sources_ = 0;
  std::uint64_t bytes_written_ = 0;
  bool finished_ = false;
};

}  // namespace aepipe::data
