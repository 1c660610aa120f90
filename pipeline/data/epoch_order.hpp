#pragma once
// The global order in which training visits rows, a pure function of (rows, chunk rows,
// window, seed, epoch) so that every rank count reproduces it (DESIGN rule 5):
//   1. rows whose hash under the seed falls below the validation fraction are held out;
//   2. the chunks of /images are shuffled with the epoch's seed;
//   3. consecutive groups of `window_chunks` chunks form windows; the training rows of a
//      window are shuffled within it.
// The epoch's sequence is the concatenation of the windows; global batch t is its slice
// [t*B, (t+1)*B) (the last one shorter), and rank r of P takes its share of whole
// micro-batches of it (rank_share). Memory to stream it is one window.
#include <cstdint>
#include <vector>

namespace aepipe::data {

// splitmix64: the mixing function behind every counter-based random choice here.
std::uint64_t mix64(std::uint64_t value);

struct RowSplit {
  std::int64_t rows = 0;
  std::int64_t chunk_rows = 1;
  double validation_fraction = 0.0;
  std::uint64_t seed = 0;
  bool is_validation(std::int64_t row) const;
};

struct Window {
  std::vector<std::int64_t> chunks;  // chunk indices to load
  std::vector<std::int64_t> rows;    // training rows in visiting order
};

// The windows of one epoch, in order.
std::vector<Window> epoch_windows(const RowSplit& split, std::int64_t window_chunks,
                                  std::int64_t epoch);

// Training rows in one epoch (the same for every epoch).
std::int64_t training_rows(const RowSplit& split);

// [first, first + count) of a batch of `batch` rows owned by `rank` of `ranks`: the batch is
// cut into micro-batches of `micro_batch` rows (the last may be shorter) and each rank gets
// a contiguous run of whole micro-batches, so the micro-batches never depend on P.
struct Share {
  std::int64_t first = 0;
  std::int64_t count = 0;
};
Share rank_share(std::int64_t batch, int rank, int ranks, std::int64_t micro_batch = 1);

}  // namespace aepipe::data
