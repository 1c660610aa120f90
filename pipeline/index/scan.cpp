#include "index/scan.hpp"

#include <immintrin.h>

#include <bit>

#include "index/top_k.hpp"

namespace aepipe::index {
namespace {

template <bool kBias, bool kIds>
void scan_portable(const float* products, const float* bias, Eigen::Index count,
                   const std::int64_t* ids, std::int64_t first_id, float* keys,
                   std::int64_t* heap_ids, Eigen::Index k) {
  for (Eigen::Index j = 0; j < count; ++j) {
    const float key = kBias ? products[j] + bias[j] : products[j];
    if (key <= keys[0]) heap_push(keys, heap_ids, k, key, kIds ? ids[j] : first_id + j);
  }
}

#if defined(__x86_64__)
// Eight candidates per step: one compare against the worst kept key rejects nearly all of
// them; the survivors go through the scalar heap push (same keys, bit for bit, as the
// portable loop: one IEEE addition each).
template <bool kBias, bool kIds>
__attribute__((target("avx2"))) void scan_avx2(const float* products, const float* bias,
                                               Eigen::Index count, const std::int64_t* ids,
                                               std::int64_t first_id, float* keys,
                                               std::int64_t* heap_ids, Eigen::Index k) {
  Eigen::Index j = 0;
  __m256 threshold = _mm256_set1_ps(keys[0]);
  alignas(32) float lanes[8];
  for (; j + 8 <= count; j += 8) {
    __m256 key = _mm256_loadu_ps(products + j);
    if constexpr (kBias) key = _mm256_add_ps(key, _mm256_loadu_ps(bias + j));
    auto mask =
        static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(key, threshold, _CMP_LE_OQ)));
    if (mask == 0) continue;
    _mm256_store_ps(lanes, key);
    while (mask != 0) {
      const int lane = std::countr_zero(mask);
      mask &= mask - 1;
      heap_push(keys, heap_ids, k, lanes[lane], kIds ? ids[j + lane] : first_id + j + lane);
    }
    threshold = _mm256_set1_ps(keys[0]);
  }
  scan_portable<kBias, kIds>(products + j, kBias ? bias + j : nullptr, count - j,
                             kIds ? ids + j : nullptr, first_id + j, keys, heap_ids, k);
}

bool has_avx2() {
  static const bool available = __builtin_cpu_supports("avx2");
  return available;
}
#endif

template <bool kBias, bool kIds>
void scan_dispatch(const float* products, const float* bias, Eigen::Index count,
                   const std::int64_t* ids, std::int64_t first_id, float* keys,
                   std::int64_t* heap_ids, Eigen::Index k) {
#if defined(__x86_64__)
  if (has_avx2())
    return scan_avx2<kBias, kIds>(products, bias, count, ids, first_id, keys, heap_ids, k);
#endif
  scan_portable<kBias, kIds>(products, bias, count, ids, first_id, keys, heap_ids, k);
}

}  // namespace

void scan_into_heap(const float* products, const float* bias, Eigen::Index count,
                    const std::int64_t* ids, std::int64_t first_id, float* keys,
                    std::int64_t* heap_ids, Eigen::Index k) {
  if (bias != nullptr) {
    if (ids != nullptr)
      scan_dispatch<true, true>(products, bias, count, ids, first_id, keys, heap_ids, k);
    else
      scan_dispatch<true, false>(products, bias, count, ids, first_id, keys, heap_ids, k);
  } else {
    if (ids != nullptr)
      scan_dispatch<false, true>(products, bias, count, ids, first_id, keys, heap_ids, k);
    else
      scan_dispatch<false, false>(products, bias, count, ids, first_id, keys, heap_ids, k);
  }
}

}  // namespace aepipe::index
