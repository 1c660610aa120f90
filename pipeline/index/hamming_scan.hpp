#pragma once
// The scan of a hash index: the Hamming distance of one query's code to every database code,
// each candidate offered to the query's top-k heap (index/top_k.hpp) in database order.
//
// The vector path computes four distances at a time and offers the heap only the candidates
// whose distance is at most its worst kept key; the heap rejects the rest itself, so the
// result is the scalar scan's, bit for bit.
#include <Eigen/Core>
#include <cstdint>

namespace aepipe::index {

// database [n, words] and query [words]: codes of `words` 64-bit words, bit j of a code in
// word j / 64. keys / heap_ids: the query's heap of k (heap_reset first). Distances are
// offered as float keys with ids[row] as ids.
void scan_hamming(const std::uint64_t* database, const std::int64_t* ids, Eigen::Index n,
                  const std::uint64_t* query, Eigen::Index words, float* keys,
                  std::int64_t* heap_ids, Eigen::Index k);

// The same with one distance at a time (std::popcount): what scan_hamming must equal.
void scan_hamming_reference(const std::uint64_t* database, const std::int64_t* ids, Eigen::Index n,
                            const std::uint64_t* query, Eigen::Index words, float* keys,
                            std::int64_t* heap_ids, Eigen::Index k);

}  // namespace aepipe::index
