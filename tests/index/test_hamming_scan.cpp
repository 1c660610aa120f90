#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "index/hamming_scan.hpp"
#include "index/top_k.hpp"

namespace aepipe::index {
namespace {

// The vector scan against the one-at-a-time reference, bit for bit: row counts around the
// four-row step, one to three words, shuffled ids, codes with few set bits (so most distances
// tie), k from 1 to more than the rows, and a heap that already holds an earlier scan's
// candidates (the second call starts from the first's heap).
TEST(HammingScan, EqualsTheReferenceOnTiesShuffledIdsAndPartlyFilledHeaps) {
  std::mt19937_64 generator(3);
  int cases = 0;
  for (Eigen::Index words : {1, 2, 3})
    for (Eigen::Index n : {0, 1, 3, 4, 5, 7, 8, 9, 67, 300})
      for (Eigen::Index k : {1, 4, 10, 400})
        for (int sparsity : {1, 3}) {
          // One extra word in front, so the codes do not start on a 32-byte boundary.
          std::vector<std::uint64_t> storage(static_cast<std::size_t>((n + 1) * words + 1));
          for (auto& word : storage) {
            word = generator();
            for (int s = 0; s < sparsity; ++s) word &= generator();
          }
          const std::uint64_t* database = storage.data() + 1;
          const std::uint64_t* query = database + n * words;  // a code of its own
          std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
          std::iota(ids.begin(), ids.end(), 1000);
          std::shuffle(ids.begin(), ids.end(), generator);
          std::vector<float> keys(static_cast<std::size_t>(k)), reference_keys(keys);
          std::vector<std::int64_t> heap(keys.size()), reference_heap(keys.size());
          heap_reset(keys.data(), heap.data(), k);
          heap_reset(reference_keys.data(), reference_heap.data(), k);
          const Eigen::Index half = n / 2;
          for (const auto& [first, count] : {std::pair{Eigen::Index{0}, half}, {half, n - half}}) {
            scan_hamming(database + first * words, ids.data() + first, count, query, words,
                         keys.data(), heap.data(), k);
            scan_hamming_reference(database + first * words, ids.data() + first, count, query,
                                   words, reference_keys.data(), reference_heap.data(), k);
          }
          EXPECT_EQ(std::memcmp(keys.data(), reference_keys.data(), keys.size() * sizeof(float)), 0)
              << "words " << words << " n " << n << " k " << k;
          EXPECT_EQ(heap, reference_heap) << "words " << words << " n " << n << " k " << k;
          ++cases;
        }
  EXPECT_EQ(cases, 3 * 10 * 4 * 2);
}

}  // namespace
}  // namespace aepipe::index
