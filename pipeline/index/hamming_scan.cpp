#include "index/hamming_scan.hpp"

#include <immintrin.h>

#include <bit>
#include <limits>

#include "index/top_k.hpp"

namespace aepipe::index {
namespace {

// Offers every row's distance to the heap, one row at a time. Inlined into each caller, so
// std::popcount becomes the POPCNT instruction inside scan_popcnt.
template <int kWords>
[[gnu::always_inline]] inline void scan_rows(const std::uint64_t* database, const std::int64_t* ids,
                                             Eigen::Index n, const std::uint64_t* query,
                                             Eigen::Index words, float* keys,
                                             std::int64_t* heap_ids, Eigen::Index k) {
  const Eigen::Index count = kWords > 0 ? kWords : words;
  for (Eigen::Index row = 0; row < n; ++row) {
    Eigen::Index distance = 0;
    for (Eigen::Index w = 0; w < count; ++w)
      distance += std::popcount(database[row * words + w] ^ query[w]);
    const auto key = static_cast<float>(distance);
    if (key <= keys[0]) heap_push(keys, heap_ids, k, key, ids[row]);
  }
}

template <int kWords>
void scan_portable(const std::uint64_t* database, const std::int64_t* ids, Eigen::Index n,
                   const std::uint64_t* query, Eigen::Index words, float* keys,
                   std::int64_t* heap_ids, Eigen::Index k) {
  scan_rows<kWords>(database, ids, n, query, words, keys, heap_ids, k);
}

#if defined(__x86_64__)
// The same loop compiled with the POPCNT instruction (std::popcount is a bit-twiddling
// sequence without it), for codes of more than two words.
template <int kWords>
__attribute__((target("popcnt"))) void scan_popcnt(const std::uint64_t* database,
                                                   const std::int64_t* ids, Eigen::Index n,
                                                   const std::uint64_t* query, Eigen::Index words,
                                                   float* keys, std::int64_t* heap_ids,
                                                   Eigen::Index k) {
  scan_rows<kWords>(database, ids, n, query, words, keys, heap_ids, k);
}

// Bits set in each 64-bit lane of x: nibble counts from a table (vpshufb), summed per lane.
__attribute__((target("avx2"))) inline __m256i popcount_lanes(__m256i x) {
  const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2,
                                         1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i nibble = _mm256_set1_epi8(0x0f);
  const __m256i low = _mm256_shuffle_epi8(table, _mm256_and_si256(x, nibble));
  const __m256i high =
      _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(x, 4), nibble));
  return _mm256_sad_epu8(_mm256_add_epi8(low, high), _mm256_setzero_si256());
}

// The heap's worst kept key as a distance: +inf (a heap not yet full) as the largest.
inline std::int64_t bound_of(const float* keys) {
  return keys[0] < static_cast<float>(std::numeric_limits<std::int32_t>::max())
             ? static_cast<std::int64_t>(keys[0])
             : std::numeric_limits<std::int64_t>::max();
}

// Codes of one or two words, four rows at a time; lane i holds row kOrder[i] of the four.
template <int kWords>
__attribute__((target("avx2"))) void scan_avx2(const std::uint64_t* database,
                                               const std::int64_t* ids, Eigen::Index n,
                                               const std::uint64_t* query, float* keys,
                                               std::int64_t* heap_ids, Eigen::Index k) {
  static_assert(kWords == 1 || kWords == 2);
  // Two-word rows come out as rows 0, 2, 1, 3 of the four (unpack of two loads).
  constexpr int kOrder[4] = {0, kWords == 1 ? 1 : 2, kWords == 1 ? 2 : 1, 3};
  const __m256i query_words =
      kWords == 1
          ? _mm256_set1_epi64x(static_cast<long long>(query[0]))
          : _mm256_setr_epi64x(static_cast<long long>(query[0]), static_cast<long long>(query[1]),
                               static_cast<long long>(query[0]), static_cast<long long>(query[1]));
  // The heap's worst kept candidate (key as a distance, id): a row goes to heap_push only if
  // it ranks before it, which the heap itself would check again (top_k.hpp).
  __m256i worst_key = _mm256_set1_epi64x(bound_of(keys));
  __m256i worst_id = _mm256_set1_epi64x(heap_ids[0]);
  alignas(32) std::int64_t distances[4];
  Eigen::Index row = 0;
  for (; row + 4 <= n; row += 4) {
    const auto* codes = reinterpret_cast<const __m256i*>(database + row * kWords);
    __m256i distance;
    __m256i row_ids = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ids + row));
    if constexpr (kWords == 1) {
      distance = popcount_lanes(_mm256_xor_si256(_mm256_loadu_si256(codes), query_words));
    } else {
      // Rows 0-1 and rows 2-3, two words each: sum each row's two word counts.
      const __m256i first =
          popcount_lanes(_mm256_xor_si256(_mm256_loadu_si256(codes), query_words));
      const __m256i second =
          popcount_lanes(_mm256_xor_si256(_mm256_loadu_si256(codes + 1), query_words));
      distance = _mm256_add_epi64(_mm256_unpacklo_epi64(first, second),
                                  _mm256_unpackhi_epi64(first, second));
      row_ids = _mm256_permute4x64_epi64(row_ids, 0b11011000);  // rows 0, 2, 1, 3
    }
    // Ranks before the worst: a smaller distance, or the same one and a smaller id.
    const __m256i before = _mm256_or_si256(_mm256_cmpgt_epi64(worst_key, distance),
                                           _mm256_and_si256(_mm256_cmpeq_epi64(distance, worst_key),
                                                            _mm256_cmpgt_epi64(worst_id, row_ids)));
    const auto admitted = static_cast<unsigned>(_mm256_movemask_pd(_mm256_castsi256_pd(before)));
    if (admitted == 0) continue;
    _mm256_store_si256(reinterpret_cast<__m256i*>(distances), distance);
    // In row order, as the scalar scan offers them.
    for (int r = 0; r < 4; ++r) {
      int lane = 0;
      while (kOrder[lane] != r) ++lane;
      if ((admitted >> lane & 1u) == 0) continue;
      heap_push(keys, heap_ids, k, static_cast<float>(distances[lane]), ids[row + r]);
    }
    worst_key = _mm256_set1_epi64x(bound_of(keys));
    worst_id = _mm256_set1_epi64x(heap_ids[0]);
  }
  scan_popcnt<kWords>(database + row * kWords, ids + row, n - row, query, kWords, keys, heap_ids,
                      k);
}

bool has_avx2() {
  static const bool available = __builtin_cpu_supports("avx2");
  return available;
}
#endif

template <int kWords>
void scan_dispatch(const std::uint64_t* database, const std::int64_t* ids, Eigen::Index n,
                   const std::uint64_t* query, Eigen::Index words, float* keys,
                   std::int64_t* heap_ids, Eigen::Index k) {
#if defined(__x86_64__)
  if constexpr (kWords == 1 || kWords == 2)
    if (has_avx2()) return scan_avx2<kWords>(database, ids, n, query, keys, heap_ids, k);
  static const bool has_popcnt = __builtin_cpu_supports("popcnt");
  if (has_popcnt) return scan_popcnt<kWords>(database, ids, n, query, words, keys, heap_ids, k);
#endif
  scan_portable<kWords>(database, ids, n, query, words, keys, heap_ids, k);
}

}  // namespace

void scan_hamming(const std::uint64_t* database, const std::int64_t* ids, Eigen::Index n,
                  const std::uint64_t* query, Eigen::Index words, float* keys,
                  std::int64_t* heap_ids, Eigen::Index k) {
  if (words == 1) return scan_dispatch<1>(database, ids, n, query, words, keys, heap_ids, k);
  if (words == 2) return scan_dispatch<2>(database, ids, n, query, words, keys, heap_ids, k);
  scan_dispatch<0>(database, ids, n, query, words, keys, heap_ids, k);
}

void scan_hamming_reference(const std::uint64_t* database, const std::int64_t* ids, Eigen::Index n,
                            const std::uint64_t* query, Eigen::Index words, float* keys,
                            std::int64_t* heap_ids, Eigen::Index k) {
  scan_portable<0>(database, ids, n, query, words, keys, heap_ids, k);
}

}  // namespace aepipe::index
