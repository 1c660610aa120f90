#include "index/pairwise.hpp"

#include <immintrin.h>

#include <algorithm>

namespace aepipe::index {
namespace {

constexpr Eigen::Index kLanes = PackedRows::kLanes;

// One point against one block of 8 rows, lane by lane: the reference order of operations.
template <Pairwise kKind>
void block_portable(const float* point, const float* block, Eigen::Index dim, float* out) {
  float sums[kLanes] = {};
  for (Eigen::Index j = 0; j < dim; ++j)
    for (Eigen::Index lane = 0; lane < kLanes; ++lane) {
      const float y = block[j * kLanes + lane];
      if constexpr (kKind == Pairwise::kSquaredL2) {
        const float difference = point[j] - y;
        const float square = difference * difference;
        sums[lane] = sums[lane] + square;
      } else {
        const float product = point[j] * y;
        sums[lane] = sums[lane] + product;
      }
    }
  for (Eigen::Index lane = 0; lane < kLanes; ++lane) out[lane] = sums[lane];
}

template <Pairwise kKind>
void pairwise_portable(ConstRows points, const PackedRows& packed, float* values) {
  const Eigen::Index c = packed.rows(), dim = packed.dim();
  float lanes[kLanes];
  for (Eigen::Index i = 0; i < points.rows(); ++i) {
    const float* point = points.data() + i * points.outerStride();
    for (Eigen::Index b = 0; b < packed.blocks(); ++b) {
      block_portable<kKind>(point, packed.block(b), dim, lanes);
      for (Eigen::Index lane = 0; lane < kLanes && b * kLanes + lane < c; ++lane)
        values[i * c + b * kLanes + lane] = lanes[lane];
    }
  }
}

#if defined(__x86_64__)
// The same operations eight lanes at a time; two blocks at once hide the adds' latency.
// Compiled for AVX2 without FMA, so nothing can be fused.
template <Pairwise kKind>
__attribute__((target("avx2"))) inline __m256 step(__m256 sum, __m256 x, const float* y) {
  const __m256 other = _mm256_loadu_ps(y);
  if constexpr (kKind == Pairwise::kSquaredL2) {
    const __m256 difference = _mm256_sub_ps(x, other);
    return _mm256_add_ps(sum, _mm256_mul_ps(difference, difference));
  } else {
    return _mm256_add_ps(sum, _mm256_mul_ps(x, other));
  }
}

template <Pairwise kKind>
__attribute__((target("avx2"))) void pairwise_avx2(ConstRows points, const PackedRows& packed,
                                                   float* values) {
  const Eigen::Index c = packed.rows(), dim = packed.dim(), blocks = packed.blocks();
  alignas(32) float lanes[2 * kLanes];
  for (Eigen::Index i = 0; i < points.rows(); ++i) {
    const float* point = points.data() + i * points.outerStride();
    float* out = values + i * c;
    Eigen::Index b = 0;
    for (; b < blocks; b += 2) {
      const bool pair = b + 1 < blocks;
      const float* first = packed.block(b);
      const float* second = packed.block(pair ? b + 1 : b);
      __m256 sum_first = _mm256_setzero_ps(), sum_second = _mm256_setzero_ps();
      for (Eigen::Index j = 0; j < dim; ++j) {
        const __m256 x = _mm256_set1_ps(point[j]);
        sum_first = step<kKind>(sum_first, x, first + j * kLanes);
        sum_second = step<kKind>(sum_second, x, second + j * kLanes);
      }
      _mm256_store_ps(lanes, sum_first);
      _mm256_store_ps(lanes + kLanes, sum_second);
      const Eigen::Index count = std::min<Eigen::Index>(pair ? 2 * kLanes : kLanes, c - b * kLanes);
      for (Eigen::Index lane = 0; lane < count; ++lane) out[b * kLanes + lane] = lanes[lane];
    }
  }
}

bool has_avx2() {
  static const bool available = __builtin_cpu_supports("avx2");
  return available;
}
#endif

}  // namespace

PackedRows::PackedRows(ConstRows rows) : rows_(rows.rows()), dim_(rows.cols()) {
  values_.assign(static_cast<std::size_t>(blocks() * dim_ * kLanes), 0.0f);
  for (Eigen::Index r = 0; r < rows_; ++r)
    for (Eigen::Index j = 0; j < dim_; ++j)
      values_[static_cast<std::size_t>(((r / kLanes) * dim_ + j) * kLanes + r % kLanes)] =
          rows(r, j);
}

void pairwise(ConstRows points, const PackedRows& packed, Pairwise kind, float* values) {
#if defined(__x86_64__)
  if (has_avx2()) {
    if (kind == Pairwise::kSquaredL2)
      return pairwise_avx2<Pairwise::kSquaredL2>(points, packed, values);
    return pairwise_avx2<Pairwise::kDot>(points, packed, values);
  }
#endif
  if (kind == Pairwise::kSquaredL2)
    return pairwise_portable<Pairwise::kSquaredL2>(points, packed, values);
  pairwise_portable<Pairwise::kDot>(points, packed, values);
}

void nearest(ConstRows points, const PackedRows& packed, Pairwise kind, std::int64_t* labels,
             float* best) {
  constexpr Eigen::Index kPointBlock = 64;
  const Eigen::Index c = packed.rows();
  std::vector<float> values(static_cast<std::size_t>(kPointBlock * c));
  const float sign = kind == Pairwise::kDot ? -1.0f : 1.0f;  // compare -dot: smaller wins
  for (Eigen::Index first = 0; first < points.rows(); first += kPointBlock) {
    const Eigen::Index rows = std::min(kPointBlock, points.rows() - first);
    pairwise(points.middleRows(first, rows), packed, kind, values.data());
    for (Eigen::Index i = 0; i < rows; ++i) {
      const float* row = values.data() + i * c;
      Eigen::Index label = 0;
      for (Eigen::Index j = 1; j < c; ++j)
        if (sign * row[j] < sign * row[label]) label = j;
      labels[first + i] = label;
      if (best != nullptr) best[first + i] = row[label];
    }
  }
}

}  // namespace aepipe::index
