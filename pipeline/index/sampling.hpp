#pragma once
// Training subsamples defined by the seed and the global row count only, so every rank count
// picks the same rows (DESIGN rule 5). Rank r then holds the picked rows of its own slice.
#include <cstdint>
#include <random>
#include <vector>

#include "index/rows.hpp"

namespace aepipe::index {

// The generator of every random choice in the index library (same sequence on every
// platform, unlike std:: distributions).
using Random = std::mt19937_64;
// Uniform in [0, bound), bound > 0 (modulo bias below 2^-40 for bounds under 2^24).
inline std::uint64_t uniform_below(Random& random, std::uint64_t bound) {
  return random() % bound;
}
// Uniform in [0, 1) with 53 random bits.
inline double uniform_unit(Random& random) {
  return static_cast<double>(random() >> 11) * 0x1.0p-53;
}

// `count` distinct global rows of [0, total), ascending (Floyd's algorithm: O(count) memory).
// count >= total returns every row.
std::vector<std::int64_t> sample_rows(std::int64_t total, std::int64_t count, std::uint64_t seed);

// The sampled rows that fall in this rank's slice, as local row numbers, plus the number of
// sampled rows on earlier ranks. `sample` ascending.
struct LocalSample {
  std::vector<Eigen::Index> rows;
  std::int64_t first = 0;
};
LocalSample local_sample(const std::vector<std::int64_t>& sample, const RowRange& range);

// The rows of `local` [n, d] listed in `rows`, in that order: [rows.size(), d].
RowMatrixXf take_rows(ConstRows local, const std::vector<Eigen::Index>& rows);

}  // namespace aepipe::index
