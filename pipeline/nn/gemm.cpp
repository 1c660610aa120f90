#include "nn/gemm.hpp"

#include <omp.h>

#include <oneapi/dnnl/dnnl.h>
#include <sched.h>
#include <algorithm>

#include "util/error.hpp"
#include "util/stop_signal.hpp"

namespace aepipe::nn {

template <>
void gemm<float>(Transpose transpose_a, Transpose transpose_b, Eigen::Index m, Eigen::Index n,
                 Eigen::Index k, float alpha, const float* a, Eigen::Index lda, const float* b,
                 Eigen::Index ldb, float beta, float* c, Eigen::Index ldc,
                 const TileEpilogue* epilogue) {
  if (m == 0 || n == 0) return;
  // C is cut into fixed kTile x kTile tiles, each computed by one single-threaded oneDNN call
  // (oneDNN runs sequentially inside an OpenMP region), the tiles shared among the threads.
  // oneDNN's own threading splits the k-sum differently for different thread counts; fixed
  // tiles make every result independent of --threads, so P ranks reproduce one rank.
  constexpr Eigen::Index kTile = kGemmTile;
  const Eigen::Index row_tiles = (m + kTile - 1) / kTile;
  const Eigen::Index tiles = row_tiles * ((n + kTile - 1) / kTile);
  const char op_a = transpose_a == Transpose::kYes ? 'T' : 'N';
  const char op_b = transpose_b == Transpose::kYes ? 'T' : 'N';
  int failures = 0;
#pragma omp parallel reduction(+ : failures)
  {
    // oneDNN's JIT kernels may run with the stack pointer in the heap: a signal handled on
    // this thread would corrupt it (util/stop_signal.cpp). Pool threads may predate the
    // stop handlers, so each thread checks for itself (no system call after the first time).
    keep_stop_signals_off_this_thread();
#pragma omp for schedule(static)
    for (Eigen::Index tile = 0; tile < tiles; ++tile) {
      const Eigen::Index i0 = (tile % row_tiles) * kTile, j0 = (tile / row_tiles) * kTile;
      const Eigen::Index rows = std::min(kTile, m - i0), cols = std::min(kTile, n - j0);
      const float* a_tile = transpose_a == Transpose::kNo ? a + i0 : a + i0 * lda;
      const float* b_tile = transpose_b == Transpose::kNo ? b + j0 * ldb : b + j0;
      // oneDNN is row-major: column-major C = op(A) op(B) is row-major C^T = op(B)^T op(A)^T.
      if (dnnl_sgemm(op_b, op_a, cols, rows, k, alpha, b_tile, ldb, a_tile, lda, beta,
                     c + i0 + j0 * ldc, ldc) != dnnl_success)
        ++failures;
      else if (epilogue != nullptr)
        (*epilogue)(i0, j0, rows, cols);
    }
  }
  if (failures > 0) throw Error(cat("internal: dnnl_sgemm failed for m=", m, " n=", n, " k=", k));
}

template <>
void gemm<double>(Transpose transpose_a, Transpose transpose_b, Eigen::Index m, Eigen::Index n,
                  Eigen::Index k, double alpha, const double* a, Eigen::Index lda, const double* b,
                  Eigen::Index ldb, double beta, double* c, Eigen::Index ldc,
                  const TileEpilogue* epilogue) {
  using Matrix = Eigen::MatrixXd;
  using Stride = Eigen::OuterStride<>;
  const Eigen::Index a_rows = transpose_a == Transpose::kNo ? m : k;
  const Eigen::Index a_cols = transpose_a == Transpose::kNo ? k : m;
  const Eigen::Index b_rows = transpose_b == Transpose::kNo ? k : n;
  const Eigen::Index b_cols = transpose_b == Transpose::kNo ? n : k;
  Eigen::Map<const Matrix, 0, Stride> a_map(a, a_rows, a_cols, Stride(lda));
  Eigen::Map<const Matrix, 0, Stride> b_map(b, b_rows, b_cols, Stride(ldb));
  Eigen::Map<Matrix, 0, Stride> c_map(c, m, n, Stride(ldc));
  if (beta == 0.0)
    c_map.setZero();
  else if (beta != 1.0)
    c_map *= beta;
  if (transpose_a == Transpose::kNo && transpose_b == Transpose::kNo)
    c_map.noalias() += alpha * a_map * b_map;
  else if (transpose_a == Transpose::kNo)
    c_map.noalias() += alpha * a_map * b_map.transpose();
  else if (transpose_b == Transpose::kNo)
    c_map.noalias() += alpha * a_map.transpose() * b_map;
  else
    c_map.noalias() += alpha * a_map.transpose() * b_map.transpose();
  if (epilogue != nullptr && m > 0 && n > 0) (*epilogue)(0, 0, m, n);  // one block: all of C
}

int available_cpus() {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  return sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
}

void set_compute_threads(int threads, int ranks_on_node) {
  if (threads <= 0) threads = std::max(1, available_cpus() / std::max(1, ranks_on_node));
  omp_set_num_threads(threads);
}
int compute_threads() {
  return omp_get_max_threads();
}

}  // namespace aepipe::nn
