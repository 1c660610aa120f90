#pragma once
// Element-wise passes over the parameters (the optimiser's update, the exact gradient sum's
// rounding, adding two gradient pieces) split among the rank's compute threads (--threads):
// they read and write ~100 MB per step for the deep Fashion model, so with two threads they
// get two cores' memory bandwidth. Each element is computed as it would be on one thread, so
// the results do not depend on the thread count.
#include <omp.h>

#include <algorithm>
#include <cstddef>

#include "util/stop_signal.hpp"

namespace aepipe {

// Calls f(begin, end) over ranges that cover [0, n) once, one per thread, each a multiple of
// `align` elements long but the last; on the calling thread alone when there is one thread or
// fewer than 2^16 elements. f must not throw.
template <class F>
void for_each_range(std::size_t n, std::size_t align, F&& f) {
  constexpr std::size_t kMinParallel = std::size_t{1} << 16;
  if (omp_get_max_threads() <= 1 || n < kMinParallel || omp_in_parallel()) {
    f(std::size_t{0}, n);
    return;
  }
#pragma omp parallel
  {
    keep_stop_signals_off_this_thread();  // as in nn::gemm: pool threads take no signals
    const auto thread = static_cast<std::size_t>(omp_get_thread_num());
    const auto threads = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t units = (n + align - 1) / align;
    const std::size_t begin = std::min(n, units * thread / threads * align);
    const std::size_t end = std::min(n, units * (thread + 1) / threads * align);
    if (begin < end) f(begin, end);
  }
}

}  // namespace aepipe
