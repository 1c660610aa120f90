#include <gtest/gtest.h>

#include <cstring>

#include "index/pairwise.hpp"
#include "index_test_support.hpp"

namespace aepipe::index {
namespace {

using testing::random_rows;

// What index building relies on: a value depends on its two rows only, bit for bit.
TEST(Pairwise, ValuesDependOnlyOnTheTwoRows) {
  const RowMatrixXf points = random_rows(100, 19, 1), others = random_rows(21, 19, 2);
  for (Pairwise kind : {Pairwise::kSquaredL2, Pairwise::kDot}) {
    std::vector<float> all(100 * 21);
    pairwise(points, PackedRows(others), kind, all.data());
    for (Eigen::Index i : {0, 37, 99}) {
      // The point alone, and against a subset of the other rows starting elsewhere.
      std::vector<float> alone(21), subset(13);
      pairwise(points.middleRows(i, 1), PackedRows(others), kind, alone.data());
      EXPECT_EQ(std::memcmp(alone.data(), &all[i * 21], 21 * sizeof(float)), 0);
      pairwise(points.middleRows(i, 1), PackedRows(others.middleRows(8, 13)), kind, subset.data());
      EXPECT_EQ(std::memcmp(subset.data(), &all[i * 21 + 8], 13 * sizeof(float)), 0);
      for (Eigen::Index j = 0; j < 21; ++j) {
        const Metric metric = kind == Pairwise::kDot ? Metric::kInnerProduct : Metric::kL2;
        const double expected =
            testing::reference_value(points.row(i).data(), others.row(j).data(), 19, metric);
        EXPECT_NEAR(all[i * 21 + j], expected, 1e-5 * (1 + std::abs(expected)));
      }
    }
  }
}

TEST(Pairwise, NearestTakesTheSmallerIndexOnTies) {
  RowMatrixXf rows = random_rows(10, 4, 3);
  rows.row(7) = rows.row(2);
  const RowMatrixXf points = rows.middleRows(7, 1);
  std::int64_t label = -1;
  float best = -1;
  nearest(points, PackedRows(rows), Pairwise::kSquaredL2, &label, &best);
  EXPECT_EQ(label, 2);
  EXPECT_EQ(best, 0.0f);
  nearest(points, PackedRows(rows * 0.0f), Pairwise::kDot, &label, &best);
  EXPECT_EQ(label, 0);
}

}  // namespace
}  // namespace aepipe::index
