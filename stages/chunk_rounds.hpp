#pragma once
// A file's rows dealt to ranks in rounds of fixed-size pieces (a data file's /images chunks,
// or blocks of queries): in round t rank r takes piece t * P + r. Pieces start at multiples of
// `chunk_rows` whatever P is, so work done piece by piece (encoding from a chunk's first row,
// searching a block of queries) gives the same result for any rank count.
#include <algorithm>
#include <cstdint>
#include <utility>

namespace aepipe::stages {

struct ChunkRounds {
  std::int64_t rows = 0;
  std::int64_t chunk_rows = 1;
  std::int64_t chunks() const { return (rows + chunk_rows - 1) / chunk_rows; }
  std::int64_t rounds(int ranks) const { return (chunks() + ranks - 1) / ranks; }
  // This rank's rows in a round: [first, first + count), count 0 when it has none.
  std::pair<std::int64_t, std::int64_t> rows_of(std::int64_t round, int rank, int ranks) const {
    const std::int64_t chunk = round * ranks + rank;
    if (chunk >= chunks()) return {rows, 0};
    const std::int64_t first = chunk * chunk_rows;
    return {first, std::min(rows, first + chunk_rows) - first};
  }
};

}  // namespace aepipe::stages
