#include <gtest/gtest.h>

#include "index/evaluation.hpp"
#include "index/exact_search.hpp"
#include "index/ivf.hpp"
#include "index/kmeans.hpp"
#include "index_test_support.hpp"
#include "mpi_support.hpp"

namespace aepipe::index {
namespace {

using testing::blobs;
using testing::brute_force;
using testing::expect_matches;
using testing::my_slice;
using testing::random_rows;

// Clustered data, as codes are: IVF has structure to exploit.
RowMatrixXf clustered(Eigen::Index rows, unsigned seed) {
  return blobs(rows, 8, 24, seed) * 0.1f + random_rows(rows, 8, seed + 1);
}

class Ivf : public ::testing::TestWithParam<Metric> {};

TEST_P(Ivf, ProbingEveryListIsExactSearch) {
  const mpi::Communicator world;
  const Metric metric = GetParam();
  const RowMatrixXf database = clustered(1500, 1), queries = clustered(80, 9);
  IvfOptions options;
  options.nlist = 16;
  options.metric = metric;
  const IvfIndex index = build_ivf(my_slice(database, world), options, world);
  // Small batches: lists shared by few queries, and several batches.
  const Neighbours result = search_ivf(index, queries, {.k = 10, .nprobe = 16, .batch = 30});
  expect_matches(result, brute_force(database, queries, 10, metric), database, queries, metric,
                 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Metrics, Ivf,
                         ::testing::Values(Metric::kL2, Metric::kInnerProduct, Metric::kCosine));

TEST(Ivf, RecallGrowsWithNprobe) {
  const mpi::Communicator world;
  const RowMatrixXf database = clustered(3000, 3), queries = clustered(200, 5);
  IvfOptions options;
  options.nlist = 32;
  const IvfIndex index = build_ivf(my_slice(database, world), options, world);
  std::vector<std::int64_t> ids(3000);
  std::iota(ids.begin(), ids.end(), 0);
  const Neighbours exact = search_flat(make_flat(database, ids, Metric::kL2), queries, {.k = 10});
  double previous = 0.0;
  for (Eigen::Index nprobe : {1, 2, 4, 8, 16, 32}) {
    const double recall =
        recall_at_k(search_ivf(index, queries, {.k = 10, .nprobe = nprobe}), exact, 10);
    EXPECT_GE(recall, previous) << "nprobe " << nprobe;
    previous = recall;
    if (nprobe == 1) {
      EXPECT_LT(recall, 0.9);
    }
  }
  EXPECT_EQ(previous, 1.0);
}

TEST(Ivf, ListsHoldEachVectorOnceUnderItsNearestCentroidInIdOrder) {
  const mpi::Communicator world;
  const RowMatrixXf database = clustered(900, 4);
  IvfOptions options;
  options.nlist = 10;
  options.max_points_per_list = 39;  // a training sample smaller than the database
  const IvfIndex index = build_ivf(my_slice(database, world), options, world);
  ASSERT_EQ(index.list_offsets.size(), 11u);
  EXPECT_EQ(index.list_offsets.front(), 0);
  EXPECT_EQ(index.list_offsets.back(), 900);
  std::vector<std::int64_t> nearest(900);
  assign_nearest(database, index.centroids, nearest.data(), nullptr);
  std::vector<int> seen(900, 0);
  for (Eigen::Index l = 0; l < 10; ++l)
    for (std::int64_t row = index.list_offsets[l]; row < index.list_offsets[l + 1]; ++row) {
      const std::int64_t id = index.ids[row];
      ++seen[id];
      EXPECT_EQ(nearest[id], l) << "id " << id;
      EXPECT_EQ(index.vectors.row(row), database.row(id));
      if (row > index.list_offsets[l]) {
        EXPECT_GT(id, index.ids[row - 1]);
      }
    }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), 900);
}

}  // namespace
}  // namespace aepipe::index
