#include "index/pairwise.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

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

// The index of the smallest sign * row[j], j < c (c >= 1), exactly as this scan finds it:
// the first of equal values (-0 equals +0); a NaN never wins, and a NaN at 0 is kept.
Eigen::Index argmin_portable(const float* row, Eigen::Index c, float sign) {
  Eigen::Index label = 0;
  for (Eigen::Index j = 1; j < c; ++j)
    if (sign * row[j] < sign * row[label]) label = j;
  return label;
}

#if defined(__x86_64__)
// The same operations eight lanes at a time. Compiled for AVX2 without FMA (and the file with
// -ffp-contract=off), so nothing can be fused.
template <Pairwise kKind>
__attribute__((target("avx2"))) inline __m256 step(__m256 sum, __m256 x, __m256 other) {
  if constexpr (kKind == Pairwise::kSquaredL2) {
    const __m256 difference = _mm256_sub_ps(x, other);
    return _mm256_add_ps(sum, _mm256_mul_ps(difference, difference));
  } else {
    return _mm256_add_ps(sum, _mm256_mul_ps(x, other));
  }
}

// kPoints points (rows of `points` from `first`) against packed blocks b and b + 1 (b alone
// when it is the last): 2 * kPoints independent sums hide the adds' latency, and each load
// of a block serves every point. Writes values [first + p, b * 8 ...] of the [n, c] output.
template <Pairwise kKind, int kPoints>
__attribute__((target("avx2"))) inline void points_against_two_blocks(
    ConstRows points, Eigen::Index first, const PackedRows& packed, Eigen::Index b, float* values) {
  const Eigen::Index c = packed.rows(), dim = packed.dim();
  const bool pair = b + 1 < packed.blocks();
  const float* block_a = packed.block(b);
  const float* block_b = packed.block(pair ? b + 1 : b);
  const float* point[kPoints];
  for (int p = 0; p < kPoints; ++p) point[p] = points.data() + (first + p) * points.outerStride();
  __m256 sum_a[kPoints], sum_b[kPoints];
#pragma GCC unroll 8
  for (int p = 0; p < kPoints; ++p) sum_a[p] = sum_b[p] = _mm256_setzero_ps();
  for (Eigen::Index j = 0; j < dim; ++j) {
    const __m256 y_a = _mm256_loadu_ps(block_a + j * kLanes);
    const __m256 y_b = _mm256_loadu_ps(block_b + j * kLanes);
    // Unrolled, so the sums stay in registers.
#pragma GCC unroll 8
    for (int p = 0; p < kPoints; ++p) {
      const __m256 x = _mm256_set1_ps(point[p][j]);
      sum_a[p] = step<kKind>(sum_a[p], x, y_a);
      sum_b[p] = step<kKind>(sum_b[p], x, y_b);
    }
  }
  const Eigen::Index count = std::min<Eigen::Index>(pair ? 2 * kLanes : kLanes, c - b * kLanes);
  for (int p = 0; p < kPoints; ++p) {
    float* out = values + (first + p) * c + b * kLanes;
    if (count == 2 * kLanes) {
      _mm256_storeu_ps(out, sum_a[p]);
      _mm256_storeu_ps(out + kLanes, sum_b[p]);
      continue;
    }
    alignas(32) float lanes[2 * kLanes];
    _mm256_store_ps(lanes, sum_a[p]);
    _mm256_store_ps(lanes + kLanes, sum_b[p]);
    std::copy_n(lanes, count, out);
  }
}

template <Pairwise kKind>
__attribute__((target("avx2"))) void pairwise_avx2(ConstRows points, const PackedRows& packed,
                                                   float* values) {
  constexpr int kPoints = 4;
  const Eigen::Index n = points.rows(), blocks = packed.blocks();
  Eigen::Index i = 0;
  for (; i + kPoints <= n; i += kPoints)
    for (Eigen::Index b = 0; b < blocks; b += 2)
      points_against_two_blocks<kKind, kPoints>(points, i, packed, b, values);
  for (; i < n; ++i)
    for (Eigen::Index b = 0; b < blocks; b += 2)
      points_against_two_blocks<kKind, 1>(points, i, packed, b, values);
}

// argmin_portable's answer, eight lanes at a time: each lane keeps the first of its smallest
// values (strict <, so NaNs never enter), then the lanes' winners are compared (value, then
// index) and the tail is scanned on. A NaN at 0, or nothing below +inf, answers 0 as the scan
// does.
__attribute__((target("avx2"))) Eigen::Index argmin_avx2(const float* row, Eigen::Index c,
                                                         float sign) {
  if (c < 2 * kLanes || c > INT32_MAX - kLanes || std::isnan(row[0]))
    return argmin_portable(row, c, sign);
  const __m256 flip = _mm256_set1_ps(sign);  // * ±1: exact
  __m256 best = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  __m256i best_index = _mm256_set1_epi32(-1);
  __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i lanes = _mm256_set1_epi32(kLanes);
  Eigen::Index j = 0;
  for (; j + kLanes <= c; j += kLanes) {
    const __m256 value = _mm256_mul_ps(_mm256_loadu_ps(row + j), flip);
    const __m256 less = _mm256_cmp_ps(value, best, _CMP_LT_OQ);
    best = _mm256_blendv_ps(best, value, less);
    best_index = _mm256_castps_si256(
        _mm256_blendv_ps(_mm256_castsi256_ps(best_index), _mm256_castsi256_ps(index), less));
    index = _mm256_add_epi32(index, lanes);
  }
  alignas(32) float values[kLanes];
  alignas(32) std::int32_t indices[kLanes];
  _mm256_store_ps(values, best);
  _mm256_store_si256(reinterpret_cast<__m256i*>(indices), best_index);
  float value = std::numeric_limits<float>::infinity();
  Eigen::Index label = -1;
  for (Eigen::Index lane = 0; lane < kLanes; ++lane) {
    if (indices[lane] < 0) continue;
    if (label < 0 || values[lane] < value || (values[lane] == value && indices[lane] < label)) {
      value = values[lane];
      label = indices[lane];
    }
  }
  for (; j < c; ++j)
    if (sign * row[j] < value) {
      value = sign * row[j];
      label = j;
    }
  return label < 0 ? 0 : label;
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
  pairwise_reference(points, packed, kind, values);
}

void pairwise_reference(ConstRows points, const PackedRows& packed, Pairwise kind, float* values) {
  if (kind == Pairwise::kSquaredL2)
    return pairwise_portable<Pairwise::kSquaredL2>(points, packed, values);
  pairwise_portable<Pairwise::kDot>(points, packed, values);
}

Eigen::Index nearest_in_row(const float* row, Eigen::Index c, Pairwise kind) {
  const float sign = kind == Pairwise::kDot ? -1.0f : 1.0f;  // compare -dot: smaller wins
#if defined(__x86_64__)
  if (has_avx2()) return argmin_avx2(row, c, sign);
#endif
  return argmin_portable(row, c, sign);
}

Eigen::Index nearest_in_row_reference(const float* row, Eigen::Index c, Pairwise kind) {
  return argmin_portable(row, c, kind == Pairwise::kDot ? -1.0f : 1.0f);
}

void nearest(ConstRows points, const PackedRows& packed, Pairwise kind, std::int64_t* labels,
             float* best) {
  constexpr Eigen::Index kPointBlock = 64;
  const Eigen::Index c = packed.rows();
  std::vector<float> values(static_cast<std::size_t>(kPointBlock * c));
  for (Eigen::Index first = 0; first < points.rows(); first += kPointBlock) {
    const Eigen::Index rows = std::min(kPointBlock, points.rows() - first);
    pairwise(points.middleRows(first, rows), packed, kind, values.data());
    for (Eigen::Index i = 0; i < rows; ++i) {
      const float* row = values.data() + i * c;
      const Eigen::Index label = nearest_in_row(row, c, kind);
      labels[first + i] = label;
      if (best != nullptr) best[first + i] = row[label];
    }
  }
}

}  // namespace aepipe::index
