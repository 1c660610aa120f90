#pragma once
// Streams this rank's share of each global batch of an epoch (data/epoch_order.hpp) from a
// data file, holding at most two windows of chunks in memory.
#include <cstdint>
#include <map>
#include <vector>

#include "data/data_file_reader.hpp"
#include "data/epoch_order.hpp"

namespace aepipe::data {

class TrainingStream {
 public:
  TrainingStream(const DataFileReader& reader, const RowSplit& split, std::int64_t window_chunks,
                 std::int64_t global_batch, int rank, int ranks, std::int64_t micro_batch = 1);

  std::int64_t steps_per_epoch() const;
  // Positions the stream at `step` of `epoch` (0 for a fresh epoch; later for a resume).
  void start_epoch(std::int64_t epoch, std::int64_t step = 0);
  // This rank's rows of the next global batch: pixels [count, H, W, C] and global row ids.
  // Returns the global batch size, 0 once the epoch is over.
  std::int64_t next(std::vector<std::uint8_t>& pixels, std::vector<std::int64_t>& rows);
  // Peak bytes of pixels held in windows so far (for the memory report).
  std::int64_t peak_window_bytes() const { return peak_bytes_; }

 private:
  const std::uint8_t* row_pixels(std::int64_t row);
  void load_window(std::size_t window);

  const DataFileReader& reader_;
  RowSplit split_;
  std::int64_t window_chunks_;
  std::int64_t global_batch_;
  int rank_, ranks_;
  std::int64_t micro_batch_;
  std::int64_t training_rows_;
  std::vector<Window> windows_;
  std::vector<std::int64_t> window_starts_;                   // position of each window's first row
  std::int64_t position_ = 0;                                 // in the epoch sequence
  std::map<std::int64_t, std::vector<std::uint8_t>> chunks_;  // loaded chunk -> pixels
  std::map<std::int64_t, std::size_t> chunk_window_;          // loaded chunk -> its window
  std::int64_t peak_bytes_ = 0;
};

}  // namespace aepipe::data
