#include <gtest/gtest.h>

#include <cstring>

#include "index/kmeans.hpp"
#include "index_test_support.hpp"
#include "mpi_support.hpp"

namespace aepipe::index {
namespace {

using testing::blobs;
using testing::my_slice;
using testing::random_rows;

TEST(KMeans, CentroidsAreBitIdenticalForAnyRankCount) {
  const mpi::Communicator world, self(MPI_COMM_SELF);
  // Overlapping blobs plus noise: many points near cluster boundaries.
  const RowMatrixXf points = blobs(3001, 6, 5, 1) * 0.05f + random_rows(3001, 6, 2);
  KMeansOptions options;
  options.clusters = 12;
  options.iterations = 8;
  options.seed = 7;
  options.init_points_per_cluster = 40;
  const KMeansResult distributed = kmeans(my_slice(points, world), options, world);
  const KMeansResult alone = kmeans(points, options, self);
  ASSERT_EQ(distributed.centroids.size(), alone.centroids.size());
  EXPECT_EQ(std::memcmp(distributed.centroids.data(), alone.centroids.data(),
                        sizeof(float) * static_cast<std::size_t>(alone.centroids.size())),
            0);
  EXPECT_EQ(distributed.counts, alone.counts);
  EXPECT_EQ(distributed.inertia, alone.inertia);
}

TEST(KMeans, InertiaNeverIncreases) {
  const mpi::Communicator world;
  const RowMatrixXf points = random_rows(2000, 5, 3);
  KMeansOptions options;
  options.clusters = 20;
  options.iterations = 15;
  const KMeansResult result = kmeans(my_slice(points, world), options, world);
  ASSERT_GE(result.inertia.size(), 5u);
  for (std::size_t i = 1; i < result.inertia.size(); ++i)
    EXPECT_LE(result.inertia[i], result.inertia[i - 1] * (1 + 1e-6)) << "iteration " << i;
  EXPECT_LT(result.inertia.back(), 0.8 * result.inertia.front());
  std::int64_t total = 0;
  for (auto count : result.counts) total += count;
  EXPECT_EQ(total, 2000);
}

TEST(KMeans, RecoversWellSeparatedBlobs) {
  const mpi::Communicator world;
  RowMatrixXf centres;
  const RowMatrixXf points = blobs(1600, 4, 8, 4, &centres);
  KMeansOptions options;
  options.clusters = 8;
  const KMeansResult result = kmeans(my_slice(points, world), options, world);
  // Each true centre has a centroid within 0.1 (the blob mean of 200 points of spread 0.5).
  for (Eigen::Index c = 0; c < 8; ++c) {
    const float nearest = (result.centroids.rowwise() - centres.row(c)).rowwise().norm().minCoeff();
    EXPECT_LT(nearest, 0.1f) << "blob " << c;
  }
  for (auto count : result.counts) EXPECT_EQ(count, 200);
}

TEST(KMeans, MoreClustersThanDistinctPointsStillGivesFiniteCentroids) {
  const mpi::Communicator world;
  RowMatrixXf points(60, 3);
  for (Eigen::Index i = 0; i < 60; ++i) points.row(i).setConstant(static_cast<float>(i % 4) + 1);
  KMeansOptions options;
  options.clusters = 6;
  const KMeansResult result = kmeans(my_slice(points, world), options, world);
  EXPECT_TRUE(result.centroids.allFinite());
  EXPECT_NEAR(result.inertia.back(), 0.0, 1e-3);
  KMeansOptions too_many = options;
  too_many.clusters = 61;
  EXPECT_THROW(kmeans(my_slice(points, world), too_many, world), Error);
}

}  // namespace
}  // namespace aepipe::index
