#pragma once
// Retrieval quality: recall of approximate neighbours against exact ones, and label-based
// precision and mean average precision.
#include <cstdint>
#include <span>

#include "index/types.hpp"

namespace aepipe::index {

// Mean over queries of |approx top-k ∩ exact top-k| / k (faiss's "k-recall@k"); ids -1 never
// match. Both [Q, >= k]; Throws Error if the shapes disagree.
double recall_at_k(const Neighbours& approximate, const Neighbours& exact, Eigen::Index k);

// Mean over queries of the fraction of the first k neighbours whose label equals the query's.
//   neighbours [Q, >= k]; database_labels [N] indexed by id; query_labels [Q]
// Missing neighbours (-1) count as wrong.
double precision_at_k(const Neighbours& neighbours, std::span<const std::int32_t> database_labels,
                      std::span<const std::int32_t> query_labels, Eigen::Index k);

// Mean over queries of AP@k = sum over ranks i <= k of precision@i * relevant(i), divided by
// min(k, number of database vectors sharing the query's label) (0 when there are none):
// 1 when the first min(k, R) neighbours are all relevant.
double mean_average_precision(const Neighbours& neighbours,
                              std::span<const std::int32_t> database_labels,
                              std::span<const std::int32_t> query_labels, Eigen::Index k);

}  // namespace aepipe::index
