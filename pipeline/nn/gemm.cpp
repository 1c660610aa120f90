#include "nn/gemm.hpp"

#include <omp.h>
#include <sched.h>
#include <oneapi/dnnl/dnnl.h>

#include "util/error.hpp"

namespace aepipe::nn {

template <>
void gemm<float>(Transpose transpose_a, Transpose transpose_b, Eigen::Index m, Eigen::Index n,
                 Eigen::Index k, float alpha, const float* a, Eigen::Index lda, const float* b,
                 Eigen::Index ldb, float beta, float* c, Eigen::Index ldc) {
  if (m == 0 || n == 0) return;
  // oneDNN is row-major: column-major C = op(A) op(B) is row-major C^T = op(B)^T op(A)^T,
  // i.e. the same call with the operands swapped.
  const dnnl_status_t status =
      dnnl_sgemm(transpose_b == Transpose::kYes ? 'T' : 'N',
                 transpose_a == Transpose::kYes ? 'T' : 'N', n, m, k, alpha, b, ldb, a, lda, beta,
                 c, ldc);
  if (status != dnnl_success)
    throw Error(cat("internal: dnnl_sgemm failed (status ", static_cast<int>(status), ") for m=", m,
                    " n=", n, " k=", k));
}

template <>
void gemm<double>(Transpose transpose_a, Transpose transpose_b, Eigen::Index m, Eigen::Index n,
                  Eigen::Index k, double alpha, const double* a, Eigen::Index lda,
                  const double* b, Eigen::Index ldb, double beta, double* c, Eigen::Index ldc) {
  using Matrix = Eigen::MatrixXd;
  using Stride = Eigen::OuterStride<>;
  const Eigen::Index a_rows = transpose_a == Transpose::kNo ? m : k;
  const Eigen::Index a_cols = transpose_a == Transpose::kNo ? k : m;
  const Eigen::Index b_rows = transpose_b == Transpose::kNo ? k : n;
  const Eigen::Index b_cols = transpose_b == Transpose::kNo ? n : k;
  Eigen::Map<const Matrix, 0, Stride> a_map(a, a_rows, a_cols, Stride(lda));
  Eigen::Map<const Matrix, 0, Stride> b_map(b, b_rows, b_cols, Stride(ldb));
  Eigen::Map<Matrix, 0, Stride> c_map(c, m, n, Stride(ldc));
  if (beta == 0.0) c_map.setZero();
  else if (beta != 1.0) c_map *= beta;
  if (transpose_a == Transpose::kNo && transpose_b == Transpose::kNo)
    c_map.noalias() += alpha * a_map * b_map;
  else if (transpose_a == Transpose::kNo)
    c_map.noalias() += alpha * a_map * b_map.transpose();
  else if (transpose_b == Transpose::kNo)
    c_map.noalias() += alpha * a_map.transpose() * b_map;
  else
    c_map.noalias() += alpha * a_map.transpose() * b_map.transpose();
}

void set_compute_threads(int threads, int ranks_on_node) {
  if (threads <= 0) {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    const int available = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
    threads = std::max(1, available / std::max(1, ranks_on_node));
  }
  omp_set_num_threads(threads);
}
int compute_threads() { return omp_get_max_threads(); }

}  // namespace aepipe::nn
