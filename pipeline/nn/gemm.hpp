#pragma once
// The one seam every dense product of the networks goes through, so the kernel is chosen in
// one place: oneDNN's sgemm (JIT, picks AVX2/AVX-512 at run time, so builds need no
// -march=native) for float, Eigen for double (gradient checks), and gemm_bf16 for float
// matrices multiplied in bfloat16 (`train --precision bf16`, nn/bf16_gemm.hpp).
//
// Float results do not depend on the thread count (fixed tiles), but a row's low bits may
// depend on its place in the matrix (kernel tails): callers that need the same bits on
// any rank count keep block boundaries fixed (codec/batch_coding.hpp) or use a fixed-order
// kernel (index/pairwise.hpp).
//
// Column-major, BLAS semantics: C = alpha * op(A) * op(B) + beta * C with op(A) [m, k],
// op(B) [k, n], C [m, n]; lda/ldb/ldc are the column strides of the stored matrices.
#include <Eigen/Core>

#include <functional>
#include <stdexcept>
#include <type_traits>

#include "nn/precision.hpp"

namespace aepipe::nn {

enum class Transpose { kNo, kYes };

// Work done on a finished block of C while it is still in cache, instead of another pass
// over the whole matrix afterwards (the bias and ReLU of a layer, the ReLU derivative of a
// delta): called with the block's first row and column and its size, by the thread that
// computed it, once per block. It must treat every element on its own (the blocks are
// fixed, but which elements share one is the kernel's business).
using TileEpilogue =
    std::function<void(Eigen::Index row, Eigen::Index col, Eigen::Index rows, Eigen::Index cols)>;

// C is computed in fixed tiles of at most this many rows and columns (the epilogue's blocks).
inline constexpr Eigen::Index kGemmTile = 256;

template <class T>
void gemm(Transpose transpose_a, Transpose transpose_b, Eigen::Index m, Eigen::Index n,
          Eigen::Index k, T alpha, const T* a, Eigen::Index lda, const T* b, Eigen::Index ldb,
          T beta, T* c, Eigen::Index ldc, const TileEpilogue* epilogue = nullptr);

// The same product with op(A) and op(B) rounded to bfloat16 and float sums (nn/bf16_gemm.hpp
// has the kernels and the rounding).
void gemm_bf16(Transpose transpose_a, Transpose transpose_b, Eigen::Index m, Eigen::Index n,
               Eigen::Index k, float alpha, const float* a, Eigen::Index lda, const float* b,
               Eigen::Index ldb, float beta, float* c, Eigen::Index ldc,
               const TileEpilogue* epilogue = nullptr);

// C = alpha * op(A) * op(B) + beta * C for contiguous column-major Eigen matrices, the
// operands in `precision` (bf16: float matrices only).
template <class T, class MatrixA, class MatrixB, class MatrixC>
void gemm(T alpha, const MatrixA& a, Transpose transpose_a, const MatrixB& b, Transpose transpose_b,
          T beta, MatrixC& c, const TileEpilogue* epilogue = nullptr,
          Precision precision = Precision::kFp32) {
  const Eigen::Index m = transpose_a == Transpose::kNo ? a.rows() : a.cols();
  const Eigen::Index k = transpose_a == Transpose::kNo ? a.cols() : a.rows();
  const Eigen::Index n = transpose_b == Transpose::kNo ? b.cols() : b.rows();
  eigen_assert(c.rows() == m && c.cols() == n);
  eigen_assert((transpose_b == Transpose::kNo ? b.rows() : b.cols()) == k);
  if (precision == Precision::kBf16) {
    if constexpr (std::is_same_v<T, float>)
      gemm_bf16(transpose_a, transpose_b, m, n, k, alpha, a.data(), a.rows(), b.data(), b.rows(),
                beta, c.data(), c.rows(), epilogue);
    else
      throw std::logic_error("internal: bf16 products take float matrices");
    return;
  }
  gemm<T>(transpose_a, transpose_b, m, n, k, alpha, a.data(), a.rows(), b.data(), b.rows(), beta,
          c.data(), c.rows(), epilogue);
}

// Compute threads for the float kernel (oneDNN's OpenMP pool) on this rank. 0 picks the
// CPUs this process may run on (its affinity mask: Slurm's allocation) divided by the ranks
// on the node, so ranks never fight over cores (spinning OpenMP threads slow everyone).
void set_compute_threads(int threads, int ranks_on_node);
int compute_threads();
// CPUs this process may run on (its affinity mask: mpirun's binding, Slurm's allocation).
int available_cpus();

}  // namespace aepipe::nn
