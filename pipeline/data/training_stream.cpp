#include "data/training_stream.hpp"

#include <algorithm>

#include "util/error.hpp"

namespace aepipe::data {

TrainingStream::TrainingStream(const DataFileReader& reader, const RowSplit& split,
                               std::int64_t window_chunks, std::int64_t global_batch, int rank,
                               int ranks, std::int64_t micro_batch)
    : reader_(reader),
      split_(split),
      window_chunks_(std::max<std::int64_t>(1, window_chunks)),
      global_batch_(global_batch),
      rank_(rank),
      ranks_(ranks),
      micro_batch_(std::max<std::int64_t>(1, micro_batch)),
      training_rows_(training_rows(split)) {}

std::int64_t TrainingStream::steps_per_epoch() const {
  return (training_rows_ + global_batch_ - 1) / global_batch_;
}

void TrainingStream::start_epoch(std::int64_t epoch, std::int64_t step) {
  windows_ = epoch_windows(split_, window_chunks_, epoch);
  window_starts_.clear();
  std::int64_t start = 0;
  for (const auto& window : windows_) {
    window_starts_.push_back(start);
    start += static_cast<std::int64_t>(window.rows.size());
  }
  chunks_.clear();
  chunk_window_.clear();
  position_ = std::min(training_rows_, step * global_batch_);
}

void TrainingStream::load_window(std::size_t window) {
  // Windows before this one are no longer needed (the sequence only moves forward).
  for (auto it = chunk_window_.begin(); it != chunk_window_.end();) {
    if (it->second + 1 < window) {
      chunks_.erase(it->first);
      it = chunk_window_.erase(it);
    } else {
      ++it;
    }
  }
  for (std::int64_t chunk : windows_[window].chunks) {
    const std::int64_t first = chunk * split_.chunk_rows;
    const std::int64_t count = std::min(split_.rows, first + split_.chunk_rows) - first;
    auto& pixels = chunks_[chunk];
    pixels.resize(static_cast<std::size_t>(count * reader_.row_bytes()));
    reader_.read_images(first, count, pixels.data());
    chunk_window_[chunk] = window;
  }
  std::int64_t held = 0;
  for (const auto& [chunk, pixels] : chunks_) held += static_cast<std::int64_t>(pixels.size());
  peak_bytes_ = std::max(peak_bytes_, held);
}

const std::uint8_t* TrainingStream::row_pixels(std::int64_t row) {
  const std::int64_t chunk = row / split_.chunk_rows;
  auto found = chunks_.find(chunk);
  if (found == chunks_.end()) throw Error(cat("internal: row ", row, " is not in a loaded window"));
  return found->second.data() + (row - chunk * split_.chunk_rows) * reader_.row_bytes();
}

std::int64_t TrainingStream::next(std::vector<std::uint8_t>& pixels,
                                  std::vector<std::int64_t>& rows) {
  pixels.clear();
  rows.clear();
  if (position_ >= training_rows_) return 0;
  const std::int64_t batch = std::min(global_batch_, training_rows_ - position_);
  const Share share = rank_share(batch, rank_, ranks_, micro_batch_);
  const std::size_t row_bytes = static_cast<std::size_t>(reader_.row_bytes());
  pixels.resize(static_cast<std::size_t>(share.count) * row_bytes);
  for (std::int64_t i = 0; i < share.count; ++i) {
    const std::int64_t at = position_ + share.first + i;
    const std::size_t window = static_cast<std::size_t>(
        std::upper_bound(window_starts_.begin(), window_starts_.end(), at) -
        window_starts_.begin() - 1);
    const std::int64_t row =
        windows_[window].rows[static_cast<std::size_t>(at - window_starts_[window])];
    if (chunks_.count(row / split_.chunk_rows) == 0) load_window(window);
    std::copy_n(row_pixels(row), row_bytes,
                pixels.data() + static_cast<std::size_t>(i) * row_bytes);
    rows.push_back(row);
  }
  position_ += batch;
  return batch;
}

}  // namespace aepipe::data
