#pragma once
// The hot loop of every float search: turn a row of inner products into keys and keep the k
// best in a heap (top_k.hpp). Vectorised (AVX2 when the CPU has it, chosen at run time so
// builds stay portable) because almost every candidate is rejected by one comparison with
// the heap's worst key.
#include <Eigen/Core>
#include <cstdint>

namespace aepipe::index {

// Candidates j in [0, count): key = products[j] + bias[j] (bias == nullptr: no bias), id =
// ids[j] (ids == nullptr: first_id + j). Each is pushed into the heap (keys, heap_ids) of k.
//   products  [count]  e.g. -2 x·y_j for squared L2 (bias = ||y_j||²), -x·y_j for similarity
void scan_into_heap(const float* products, const float* bias, Eigen::Index count,
                    const std::int64_t* ids, std::int64_t first_id, float* keys,
                    std::int64_t* heap_ids, Eigen::Index k);

}  // namespace aepipe::index
