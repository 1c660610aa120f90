#include "index/evaluation.hpp"

#include <algorithm>
#include <unordered_map>

#include "util/error.hpp"

namespace aepipe::index {
namespace {

void check_shapes(const Neighbours& neighbours, std::size_t database, std::size_t queries,
                  Eigen::Index k) {
  if (k < 1 || k > neighbours.k)
    throw Error(cat("cannot measure at k = ", k, " with ", neighbours.k, " neighbours per query"));
  if (static_cast<std::size_t>(neighbours.queries) != queries)
    throw Error(cat(neighbours.queries, " queries have neighbours but ", queries, " have labels"));
  for (std::int64_t id : neighbours.ids)
    if (id >= static_cast<std::int64_t>(database))
      throw Error(cat("neighbour id ", id, " is past the ", database, " database labels"));
}

}  // namespace

double recall_at_k(const Neighbours& approximate, const Neighbours& exact, Eigen::Index k) {
  if (approximate.queries != exact.queries)
    throw Error(
        cat("recall: ", approximate.queries, " approximate and ", exact.queries, " exact queries"));
  if (k < 1 || k > approximate.k || k > exact.k)
    throw Error(cat("recall@", k, " needs ", k, " neighbours per query; have ", approximate.k,
                    " approximate and ", exact.k, " exact"));
  if (exact.queries == 0) return 0.0;
  double total = 0.0;
  std::vector<std::int64_t> truth(static_cast<std::size_t>(k));
  for (Eigen::Index q = 0; q < exact.queries; ++q) {
    std::copy_n(exact.ids_of(q), k, truth.begin());
    std::sort(truth.begin(), truth.end());
    Eigen::Index found = 0;
    for (Eigen::Index j = 0; j < k; ++j) {
      const std::int64_t id = approximate.ids_of(q)[j];
      found += id >= 0 && std::binary_search(truth.begin(), truth.end(), id);
    }
    total += static_cast<double>(found) / static_cast<double>(k);
  }
  return total / static_cast<double>(exact.queries);
}

double precision_at_k(const Neighbours& neighbours, std::span<const std::int32_t> database_labels,
                      std::span<const std::int32_t> query_labels, Eigen::Index k) {
  check_shapes(neighbours, database_labels.size(), query_labels.size(), k);
  if (neighbours.queries == 0) return 0.0;
  double total = 0.0;
  for (Eigen::Index q = 0; q < neighbours.queries; ++q) {
    Eigen::Index relevant = 0;
    for (Eigen::Index j = 0; j < k; ++j) {
      const std::int64_t id = neighbours.ids_of(q)[j];
      relevant += id >= 0 && database_labels[static_cast<std::size_t>(id)] == query_labels[q];
    }
    total += static_cast<double>(relevant) / static_cast<double>(k);
  }
  return total / static_cast<double>(neighbours.queries);
}

double mean_average_precision(const Neighbours& neighbours,
                              std::span<const std::int32_t> database_labels,
                              std::span<const std::int32_t> query_labels, Eigen::Index k) {
  check_shapes(neighbours, database_labels.size(), query_labels.size(), k);
  if (neighbours.queries == 0) return 0.0;
  std::unordered_map<std::int32_t, std::int64_t> label_counts;
  for (std::int32_t label : database_labels) ++label_counts[label];
  double total = 0.0;
  for (Eigen::Index q = 0; q < neighbours.queries; ++q) {
    const auto found = label_counts.find(query_labels[q]);
    const std::int64_t available = found == label_counts.end() ? 0 : found->second;
    if (available == 0) continue;
    double precision_sum = 0.0;
    Eigen::Index relevant = 0;
    for (Eigen::Index j = 0; j < k; ++j) {
      const std::int64_t id = neighbours.ids_of(q)[j];
      if (id < 0 || database_labels[static_cast<std::size_t>(id)] != query_labels[q]) continue;
      ++relevant;
      precision_sum += static_cast<double>(relevant) / static_cast<double>(j + 1);
    }
    total += precision_sum / static_cast<double>(std::min<std::int64_t>(k, available));
  }
  return total / static_cast<double>(neighbours.queries);
}

}  // namespace aepipe::index
