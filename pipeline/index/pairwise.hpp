#pragma once
// Pairwise values between rows whose every bit depends only on the two rows involved: not on
// where a row sits in a block, a rank's slice or memory. Index building relies on it (k-means
// assignments, IVF lists, hash bits), so P ranks build exactly the index one rank builds.
// GEMM kernels don't promise that: their edge tiles may sum in another order.
//
// Each value is summed over the d coordinates in index order, in float, with a separate
// rounding for every multiply and add (no fused multiply-add), so the AVX2 path and the
// portable path give the same bits on any x86-64 CPU.
#include <vector>

#include "index/types.hpp"

namespace aepipe::index {

enum class Pairwise {
  kSquaredL2,  // sum_j (x_j - y_j)²
  kDot,        // sum_j x_j y_j
};

// The rows y [c, d] laid out for the kernel: blocks of 8 rows, transposed ([c/8][d][8]).
class PackedRows {
 public:
  explicit PackedRows(ConstRows rows);
  Eigen::Index rows() const { return rows_; }
  Eigen::Index dim() const { return dim_; }
  const float* block(Eigen::Index b) const { return values_.data() + b * dim_ * kLanes; }
  Eigen::Index blocks() const { return (rows_ + kLanes - 1) / kLanes; }

  static constexpr Eigen::Index kLanes = 8;

 private:
  Eigen::Index rows_ = 0;
  Eigen::Index dim_ = 0;
  std::vector<float> values_;
};

// values [n, c] row-major: values(i, j) = x_i ∘ y_j for points x [n, d] and packed y [c, d].
void pairwise(ConstRows points, const PackedRows& packed, Pairwise kind, float* values);

// The same values computed one lane at a time (the path of CPUs without AVX2): what the
// vector path must equal bit for bit.
void pairwise_reference(ConstRows points, const PackedRows& packed, Pairwise kind, float* values);

// The column of the best of row[0..c) (c >= 1): the smallest squared L2 or the largest dot
// product, the first of equal values (-0 equals +0); a NaN never wins, and a NaN at 0 is
// kept. nearest_in_row_reference scans one value at a time, which nearest_in_row must equal.
Eigen::Index nearest_in_row(const float* row, Eigen::Index c, Pairwise kind);
Eigen::Index nearest_in_row_reference(const float* row, Eigen::Index c, Pairwise kind);

// For each point x [n, d], the packed row with the smallest squared L2 (kSquaredL2) or the
// largest dot product (kDot), ties to the smaller row: labels [n]; best [n] (or nullptr) gets
// that value.
void nearest(ConstRows points, const PackedRows& packed, Pairwise kind, std::int64_t* labels,
             float* best);

}  // namespace aepipe::index
