#include <gtest/gtest.h>

#include "index/evaluation.hpp"
#include "util/error.hpp"

namespace aepipe::index {
namespace {

Neighbours neighbours(Eigen::Index k, std::vector<std::int64_t> ids) {
  Neighbours result;
  result.resize(static_cast<Eigen::Index>(ids.size()) / k, k);
  result.ids = std::move(ids);
  return result;
}

TEST(Evaluation, RecallCountsSharedIdsIgnoringOrderAndMissing) {
  const Neighbours exact = neighbours(3, {1, 2, 3, 4, 5, 6});
  EXPECT_DOUBLE_EQ(recall_at_k(neighbours(3, {3, 2, 1, 6, 5, 4}), exact, 3), 1.0);
  EXPECT_DOUBLE_EQ(recall_at_k(neighbours(3, {1, 9, -1, 4, 7, 8}), exact, 3),
                   (1.0 / 3 + 1.0 / 3) / 2);
  // recall@1: only the first of each list.
  EXPECT_DOUBLE_EQ(recall_at_k(neighbours(3, {1, 2, 3, 5, 4, 6}), exact, 1), 0.5);
  EXPECT_THROW(recall_at_k(neighbours(3, {1, 2, 3}), exact, 3), Error);
  EXPECT_THROW(recall_at_k(exact, exact, 4), Error);
}

TEST(Evaluation, PrecisionAndAveragePrecisionByLabel) {
  const std::vector<std::int32_t> database{0, 0, 1, 1, 1, 2};
  const std::vector<std::int32_t> queries{1, 0};
  // Query 0 (label 1): relevant, wrong, relevant, relevant. Query 1 (label 0): wrong, missing,
  // relevant, wrong.
  const Neighbours result = neighbours(4, {2, 0, 3, 4, 5, -1, 1, 2});
  EXPECT_DOUBLE_EQ(precision_at_k(result, database, queries, 4), (3.0 / 4 + 1.0 / 4) / 2);
  EXPECT_DOUBLE_EQ(precision_at_k(result, database, queries, 1), 0.5);
  // AP@4: query 0: (1/1 + 2/3 + 3/4) / min(4, 3); query 1: (1/3) / min(4, 2).
  EXPECT_DOUBLE_EQ(mean_average_precision(result, database, queries, 4),
                   ((1.0 + 2.0 / 3 + 3.0 / 4) / 3 + (1.0 / 3) / 2) / 2);
  EXPECT_THROW(precision_at_k(neighbours(4, {2, 0, 3, 99}), database, {queries.data(), 1}, 4),
               Error);
}

}  // namespace
}  // namespace aepipe::index
