#include "data/epoch_order.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace aepipe::data {
namespace {

// Fisher-Yates with splitmix64 draws: the same permutation on every platform.
template <class T>
void shuffle(std::vector<T>& values, std::uint64_t seed) {
  std::uint64_t state = seed;
  for (std::size_t i = values.size(); i > 1; --i) {
    state = mix64(state);
    const std::size_t j = static_cast<std::size_t>(state % i);
    std::swap(values[i - 1], values[j]);
  }
}

}  // namespace

std::uint64_t mix64(std::uint64_t value) {
  value += 0x9e3779b97f4a7c15ull;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ull;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebull;
  return value ^ (value >> 31);
}

bool RowSplit::is_validation(std::int64_t row) const {
  if (validation_fraction <= 0) return false;
  const std::uint64_t draw =
      mix64(seed ^ mix64(static_cast<std::uint64_t>(row) + 0x5851f42d4c957f2dull));
  return static_cast<double>(draw >> 11) * 0x1.0p-53 < validation_fraction;
}

std::int64_t training_rows(const RowSplit& split) {
  std::int64_t count = 0;
  for (std::int64_t row = 0; row < split.rows; ++row)
    if (!split.is_validation(row)) ++count;
  return count;
}

std::vector<Window> epoch_windows(const RowSplit& split, std::int64_t window_chunks,
                                  std::int64_t epoch) {
  const std::int64_t chunks = (split.rows + split.chunk_rows - 1) / split.chunk_rows;
  std::vector<std::int64_t> order(static_cast<std::size_t>(chunks));
  std::iota(order.begin(), order.end(), 0);
  const std::uint64_t epoch_seed = mix64(split.seed ^ mix64(static_cast<std::uint64_t>(epoch)));
  shuffle(order, epoch_seed);
  std::vector<Window> windows;
  for (std::int64_t start = 0; start < chunks; start += window_chunks) {
    Window window;
    const std::int64_t end = std::min(chunks, start + window_chunks);
    window.chunks.assign(order.begin() + start, order.begin() + end);
    std::sort(window.chunks.begin(), window.chunks.end());  // read in file order
    for (std::int64_t chunk : window.chunks)
      for (std::int64_t row = chunk * split.chunk_rows;
           row < std::min(split.rows, (chunk + 1) * split.chunk_rows); ++row)
        if (!split.is_validation(row)) window.rows.push_back(row);
    shuffle(window.rows, mix64(epoch_seed + static_cast<std::uint64_t>(start) + 1));
    windows.push_back(std::move(window));
  }
  return windows;
}

Share rank_share(std::int64_t batch, int rank, int ranks, std::int64_t micro_batch) {
  const std::int64_t micro_batches = (batch + micro_batch - 1) / micro_batch;
  const std::int64_t first = std::min(batch, micro_batches * rank / ranks * micro_batch);
  const std::int64_t end = std::min(batch, micro_batches * (rank + 1) / ranks * micro_batch);
  return {first, end - first};
}

}  // namespace aepipe::data
