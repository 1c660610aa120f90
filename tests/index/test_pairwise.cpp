#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

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

// The vector path (the one this CPU runs) against the one-lane reference, bit for bit, over
// point counts around the 4-point kernel, row counts around the 8- and 16-row blocks,
// dimensions of one and more, and points whose rows are further apart than d.
TEST(Pairwise, EqualsTheOneLaneReferenceBitForBit) {
  for (Eigen::Index n : {1, 3, 4, 5, 7, 8, 67})
    for (Eigen::Index c : {1, 7, 8, 9, 15, 16, 17, 33, 256})
      for (Eigen::Index d : {1, 2, 19, 30}) {
        // Points as the left columns of a wider matrix: rows d + 3 floats apart.
        const RowMatrixXf wide =
            random_rows(n, d + 3, static_cast<unsigned>(n * 1000 + c * 10 + d));
        const ConstRows points = wide.leftCols(d);
        const RowMatrixXf others = random_rows(c, d, static_cast<unsigned>(c + d));
        const PackedRows packed(others);
        for (Pairwise kind : {Pairwise::kSquaredL2, Pairwise::kDot}) {
          std::vector<float> fast(static_cast<std::size_t>(n * c), -1.0f), reference(fast);
          pairwise(points, packed, kind, fast.data());
          pairwise_reference(points, packed, kind, reference.data());
          EXPECT_EQ(std::memcmp(fast.data(), reference.data(), fast.size() * sizeof(float)), 0)
              << "n " << n << " c " << c << " d " << d;
        }
      }
}

// nearest_in_row against the scan it must reproduce, on rows made to be hard: few distinct
// values (many ties), signed zeros, infinities and NaNs, at lengths around the 8 lanes.
TEST(Pairwise, NearestInRowEqualsTheScanOnTiesZerosInfinitiesAndNaNs) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> kinds_of_value = {0.0f, -0.0f, 1.0f, -1.0f, 2.5f, -2.5f, inf, -inf, nan};
  std::mt19937 generator(7);
  int rows_checked = 0;
  for (Eigen::Index c : {1, 2, 8, 15, 16, 17, 31, 32, 33, 64, 100, 256})
    for (int trial = 0; trial < 200; ++trial) {
      // Each row draws from a few of the kinds, so ties and specials meet in every lane.
      std::vector<float> pool;
      for (const float value : kinds_of_value)
        if (generator() % 3 == 0) pool.push_back(value);
      if (pool.empty()) pool.push_back(static_cast<float>(trial));
      std::vector<float> row(static_cast<std::size_t>(c));
      for (float& value : row) value = pool[generator() % pool.size()];
      if (trial % 5 == 0) row[0] = nan;
      if (trial % 7 == 0) std::fill(row.begin(), row.end(), trial % 2 == 0 ? inf : nan);
      for (Pairwise kind : {Pairwise::kSquaredL2, Pairwise::kDot}) {
        EXPECT_EQ(nearest_in_row(row.data(), c, kind),
                  nearest_in_row_reference(row.data(), c, kind))
            << "c " << c << " trial " << trial;
        ++rows_checked;
      }
    }
  EXPECT_EQ(rows_checked, 12 * 200 * 2);
}

}  // namespace
}  // namespace aepipe::index
