#include "nn/bf16_gemm.hpp"

#include <omp.h>

#include <oneapi/dnnl/dnnl.h>
#include <algorithm>
#include <atomic>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "nn/precision.hpp"
#include "util/error.hpp"
#include "util/stop_signal.hpp"

namespace aepipe::nn {
namespace {

// -1: no kernel forced (tests only set one).
std::atomic<int> forced_kernel{-1};

template <class Packed>
Packed to_packed(float value) {
  if constexpr (std::is_same_v<Packed, std::uint16_t>)
    return round_to_bf16(value);
  else
    return bf16_to_float(round_to_bf16(value));
}

// dst [rows, cols] column-major dense = the rounded view whose element (r, c) is
// src[r * row_step + c * col_step]. One of the steps is 1; 64 x 64 blocks keep a transposing
// copy in L1. Work-shared over the enclosing parallel region's threads, without a barrier.
template <class Packed>
void pack(const float* src, Eigen::Index row_step, Eigen::Index col_step, Eigen::Index rows,
          Eigen::Index cols, Packed* dst) {
  constexpr Eigen::Index kBlock = 64;
  const Eigen::Index row_blocks = (rows + kBlock - 1) / kBlock;
  const Eigen::Index blocks = row_blocks * ((cols + kBlock - 1) / kBlock);
#pragma omp for schedule(static) nowait
  for (Eigen::Index block = 0; block < blocks; ++block) {
    const Eigen::Index r0 = (block % row_blocks) * kBlock, c0 = (block / row_blocks) * kBlock;
    const Eigen::Index r1 = std::min(rows, r0 + kBlock), c1 = std::min(cols, c0 + kBlock);
    for (Eigen::Index c = c0; c < c1; ++c)
      for (Eigen::Index r = r0; r < r1; ++r)
        dst[r + c * rows] = to_packed<Packed>(src[r * row_step + c * col_step]);
  }
}

// oneDNN bf16 matmuls, one per tile shape, made and run by one thread: each pool thread keeps
// its own, so none is shared between threads. Row-major in oneDNN's terms:
//   src [cols, k] (op(B) tile transposed), weights [k, rows] (op(A) tile transposed),
//   dst [cols, rows] (the C tile transposed), all dense.
class NativeTiles {
 public:
  void multiply(Eigen::Index rows, Eigen::Index cols, Eigen::Index k, const std::uint16_t* a_tile,
                const std::uint16_t* b_tile, float* product) {
    Entry& entry = entry_for(rows, cols, k);
    entry.src.set_data_handle(const_cast<std::uint16_t*>(b_tile));
    entry.weights.set_data_handle(const_cast<std::uint16_t*>(a_tile));
    entry.dst.set_data_handle(product);
    entry.matmul.execute(
        stream_,
        {{DNNL_ARG_SRC, entry.src}, {DNNL_ARG_WEIGHTS, entry.weights}, {DNNL_ARG_DST, entry.dst}});
    stream_.wait();
  }

 private:
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  struct Entry {
    dnnl::matmul matmul;
    dnnl::memory src, weights, dst;
  };
  Entry& entry_for(Eigen::Index rows, Eigen::Index cols, Eigen::Index k) {
    const auto key = std::make_tuple(rows, cols, k);
    auto found = entries_.find(key);
    if (found != entries_.end()) return found->second;
    const dnnl::memory::desc src({cols, k}, dt::bf16, tag::ab);
    const dnnl::memory::desc weights({k, rows}, dt::bf16, tag::ab);
    const dnnl::memory::desc dst({cols, rows}, dt::f32, tag::ab);
    const dnnl::matmul::primitive_desc description(dnnl::matmul::desc(src, weights, dst), engine_);
    Entry entry{dnnl::matmul(description), dnnl::memory(src, engine_, nullptr),
                dnnl::memory(weights, engine_, nullptr), dnnl::memory(dst, engine_, nullptr)};
    return entries_.emplace(key, std::move(entry)).first->second;
  }
  dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream_{engine_};
  std::map<std::tuple<Eigen::Index, Eigen::Index, Eigen::Index>, Entry> entries_;
};

// Packed operands, column-major and dense (reused across calls: no allocation per step once
// the largest product has been seen):
//   A: one block per row tile [rows, k] (ld rows), at offset i0 * k;  B: op(B) [k, n] (ld k).
template <class Packed>
void multiply(Transpose transpose_a, Transpose transpose_b, Eigen::Index m, Eigen::Index n,
              Eigen::Index k, float alpha, const float* a, Eigen::Index lda, const float* b,
              Eigen::Index ldb, float beta, float* c, Eigen::Index ldc,
              const TileEpilogue* epilogue) {
  static thread_local std::vector<Packed> packed_a, packed_b;
  packed_a.resize(std::max<std::size_t>(packed_a.size(), static_cast<std::size_t>(m * k)));
  packed_b.resize(std::max<std::size_t>(packed_b.size(), static_cast<std::size_t>(k * n)));
  Packed* const pa = packed_a.data();
  Packed* const pb = packed_b.data();
  const Eigen::Index row_tiles = (m + kGemmTile - 1) / kGemmTile;
  const Eigen::Index tiles = row_tiles * ((n + kGemmTile - 1) / kGemmTile);
  int failures = 0;
  std::string failure;
#pragma omp parallel reduction(+ : failures)
  {
    keep_stop_signals_off_this_thread();  // as in gemm.cpp: oneDNN's JIT kernels run here
    // Each tile is one thread's work. oneDNN plans a matmul for the thread count it sees when
    // the primitive is made and runs it on the threads it gets: one, inside this region. So
    // this thread's nested count is 1 before oneDNN is asked anything (this region's own ICV:
    // the caller's thread count is untouched).
    omp_set_num_threads(1);
    for (Eigen::Index i0 = 0; i0 < m; i0 += kGemmTile) {
      const Eigen::Index rows = std::min(kGemmTile, m - i0);
      // op(A)(i, p) = A(i, p) or A(p, i).
      const float* origin = transpose_a == Transpose::kNo ? a + i0 : a + i0 * lda;
      pack(origin, transpose_a == Transpose::kNo ? 1 : lda, transpose_a == Transpose::kNo ? lda : 1,
           rows, k, pa + i0 * k);
    }
    pack(b, transpose_b == Transpose::kNo ? 1 : ldb, transpose_b == Transpose::kNo ? ldb : 1, k, n,
         pb);
#pragma omp barrier
    static thread_local std::vector<float> product;
    product.resize(static_cast<std::size_t>(kGemmTile * kGemmTile));
#pragma omp for schedule(static)
    for (Eigen::Index tile = 0; tile < tiles; ++tile) {
      const Eigen::Index i0 = (tile % row_tiles) * kGemmTile, j0 = (tile / row_tiles) * kGemmTile;
      const Eigen::Index rows = std::min(kGemmTile, m - i0), cols = std::min(kGemmTile, n - j0);
      try {
        // product [rows, cols] column-major dense = packed op(A) tile * packed op(B) tile.
        if (k == 0) {
          std::fill_n(product.data(), rows * cols, 0.0f);
        } else if constexpr (std::is_same_v<Packed, std::uint16_t>) {
          static thread_local NativeTiles native;
          native.multiply(rows, cols, k, pa + i0 * k, pb + j0 * k, product.data());
        } else {
          // Row-major: product^T [cols, rows] = op(B) tile^T [cols, k] * op(A) tile^T [k, rows].
          if (dnnl_sgemm('N', 'N', cols, rows, k, 1.0f, pb + j0 * k, k, pa + i0 * k, rows, 0.0f,
                         product.data(), rows) != dnnl_success)
            throw Error(cat("dnnl_sgemm failed for a ", rows, "x", cols, "x", k, " tile"));
        }
      } catch (const std::exception& error) {
        ++failures;
#pragma omp critical(aepipe_bf16_gemm_failure)
        failure = error.what();
        continue;
      }
      for (Eigen::Index j = 0; j < cols; ++j) {
        float* out = c + i0 + (j0 + j) * ldc;
        const float* in = product.data() + j * rows;
        if (beta == 0.0f)  // C may hold anything (NaN): never read it
          for (Eigen::Index i = 0; i < rows; ++i) out[i] = alpha * in[i];
        else
          for (Eigen::Index i = 0; i < rows; ++i) out[i] = alpha * in[i] + beta * out[i];
      }
      if (epilogue != nullptr) (*epilogue)(i0, j0, rows, cols);
    }
  }
  if (failures > 0)
    throw Error(cat("internal: bf16 GEMM (", bf16_kernel_name(bf16_kernel()), ") failed for m=", m,
                    " n=", n, " k=", k, ": ", failure));
}

}  // namespace

bool bf16_matmul_available() {
  static const bool available = [] {
    try {
      const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
      using dt = dnnl::memory::data_type;
      using tag = dnnl::memory::format_tag;
      const dnnl::memory::desc src({2, 3}, dt::bf16, tag::ab), weights({3, 4}, dt::bf16, tag::ab),
          dst({2, 4}, dt::f32, tag::ab);
      dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, dst), engine);
      return true;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return available;
}

Bf16Kernel bf16_kernel() {
  const int forced = forced_kernel.load();
  if (forced >= 0) return static_cast<Bf16Kernel>(forced);
  return cpu_has_native_bf16() && bf16_matmul_available() ? Bf16Kernel::kNative
                                                          : Bf16Kernel::kEmulated;
}

void set_bf16_kernel(Bf16Kernel kernel) {
  if (kernel == Bf16Kernel::kNative && !bf16_matmul_available())
    throw Error(cat("internal: oneDNN has no bf16 matmul on this CPU (ISA ", cpu_isa_name(), ")"));
  forced_kernel.store(static_cast<int>(kernel));
}

const char* bf16_kernel_name(Bf16Kernel kernel) {
  return kernel == Bf16Kernel::kNative ? "native" : "emulated";
}

void gemm_bf16(Transpose transpose_a, Transpose transpose_b, Eigen::Index m, Eigen::Index n,
               Eigen::Index k, float alpha, const float* a, Eigen::Index lda, const float* b,
               Eigen::Index ldb, float beta, float* c, Eigen::Index ldc,
               const TileEpilogue* epilogue) {
  if (m == 0 || n == 0) return;
  if (bf16_kernel() == Bf16Kernel::kNative)
    multiply<std::uint16_t>(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                            epilogue);
  else
    multiply<float>(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                    epilogue);
}

}  // namespace aepipe::nn
