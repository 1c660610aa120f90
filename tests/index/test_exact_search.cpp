#include <gtest/gtest.h>

#include <limits>

#include "index/exact_search.hpp"
#include "index/top_k.hpp"
#include "index_test_support.hpp"

namespace aepipe::index {
namespace {

using testing::brute_force;
using testing::expect_matches;
using testing::random_rows;

FlatIndex flat_of(const RowMatrixXf& database, Metric metric) {
  std::vector<std::int64_t> ids(static_cast<std::size_t>(database.rows()));
  std::iota(ids.begin(), ids.end(), 0);
  return make_flat(database, ids, metric);
}

TEST(TopK, KeepsTheBestWithTiesToTheSmallerIdWhateverTheOrder) {
  const std::vector<std::pair<float, std::int64_t>> candidates{{3, 9}, {1, 4}, {2, 8}, {1, 2},
                                                               {5, 1}, {2, 3}, {1, 7}, {0.5f, 11}};
  for (int rotation = 0; rotation < 8; ++rotation) {
    float keys[4];
    std::int64_t ids[4];
    heap_reset(keys, ids, 4);
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      const auto& [key, id] = candidates[(i + static_cast<std::size_t>(rotation)) % 8];
      heap_push(keys, ids, 4, key, id);
    }
    heap_sort(keys, ids, 4);
    EXPECT_EQ(std::vector<std::int64_t>(ids, ids + 4), (std::vector<std::int64_t>{11, 2, 4, 7}));
    EXPECT_EQ(std::vector<float>(keys, keys + 4), (std::vector<float>{0.5f, 1, 1, 1}));
  }
}

class ExactSearch : public ::testing::TestWithParam<Metric> {};

TEST_P(ExactSearch, MatchesADoublePrecisionBruteForce) {
  const Metric metric = GetParam();
  // Sizes that cut the database and query blocks unevenly.
  const RowMatrixXf database = random_rows(2500, 13, 1);
  const RowMatrixXf queries = random_rows(300, 13, 2);
  const Neighbours result = search_flat(flat_of(database, metric), queries, {.k = 12});
  EXPECT_EQ(result.queries, 300);
  EXPECT_EQ(result.k, 12);
  expect_matches(result, brute_force(database, queries, 12, metric), database, queries, metric,
                 1e-4);
}

TEST_P(ExactSearch, DuplicatesTieToTheSmallerIdAndMissingNeighboursAreMarked) {
  const Metric metric = GetParam();
  RowMatrixXf database = random_rows(6, 5, 3);
  database.row(4) = database.row(1);
  database.row(5) = database.row(1);
  const RowMatrixXf queries = database.middleRows(1, 1);
  const Neighbours result = search_flat(flat_of(database, metric), queries, {.k = 9});
  // Rows 1, 4, 5 are the same vector: nearest (or most similar) first, in id order.
  EXPECT_EQ(result.ids[0], 1);
  EXPECT_EQ(result.ids[1], 4);
  EXPECT_EQ(result.ids[2], 5);
  EXPECT_EQ(result.distances[0], result.distances[1]);
  EXPECT_EQ(result.distances[1], result.distances[2]);
  // k > n: faiss's convention, id -1 and the worst possible value.
  const float missing = is_similarity(metric) ? -std::numeric_limits<float>::infinity()
                                              : std::numeric_limits<float>::infinity();
  for (int j = 6; j < 9; ++j) {
    EXPECT_EQ(result.ids[j], -1);
    EXPECT_EQ(result.distances[j], missing);
  }
  expect_matches(result, brute_force(database, queries, 9, metric), database, queries, metric,
                 1e-4);
}

TEST_P(ExactSearch, ManyExactTiesAreOrderedById) {
  // Integer coordinates in {0, 1}: many vectors share a distance exactly.
  RowMatrixXf database =
      random_rows(700, 6, 4).unaryExpr([](float v) { return v > 0 ? 1.0f : 0.0f; });
  const RowMatrixXf queries =
      random_rows(40, 6, 5).unaryExpr([](float v) { return v > 0.3f ? 1.0f : 0.0f; });
  const Metric metric = GetParam();
  if (metric == Metric::kCosine) return;  // irrational values: ties are not exact
  const Neighbours result = search_flat(flat_of(database, metric), queries, {.k = 20});
  const auto reference = brute_force(database, queries, 20, metric);
  EXPECT_EQ(result.ids, reference.ids);
}

INSTANTIATE_TEST_SUITE_P(Metrics, ExactSearch,
                         ::testing::Values(Metric::kL2, Metric::kInnerProduct, Metric::kCosine));

TEST(ExactSearch, RejectsQueriesOfTheWrongSize) {
  const FlatIndex index = flat_of(random_rows(10, 4, 1), Metric::kL2);
  EXPECT_THROW(search_flat(index, random_rows(2, 5, 1), {}), Error);
  EXPECT_THROW(search_flat(index, random_rows(2, 4, 1), {.k = 0}), UsageError);
}

}  // namespace
}  // namespace aepipe::index
