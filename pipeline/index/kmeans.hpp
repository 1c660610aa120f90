#pragma once
// Distributed k-means (Lloyd) with k-means++ initialisation. Each rank holds a slice of the
// points (rank r's rows follow rank r-1's). The result is bit-identical for any rank count:
//   - k-means++ runs on a seeded sample of global rows, gathered whole to every rank;
//   - per-centroid sums are exact (mpi::ExactSum: order-independent), counts are integers;
//   - each point's nearest centroid is computed the same way wherever it sits, ties going
//     to the smaller centroid index.
#include <cstdint>
#include <vector>

#include "index/types.hpp"
#include "mpi/communicator.hpp"

namespace aepipe::index {

struct KMeansOptions {
  Eigen::Index clusters = 0;
  int iterations = 20;  // Lloyd iterations at most (stops early once no point moves)
  std::uint64_t seed = 1;
  // k-means++ picks its seeds among at most this many points per cluster (a global sample).
  Eigen::Index init_points_per_cluster = 64;
};

struct KMeansResult {
  RowMatrixXf centroids;             // [clusters, d]
  std::vector<std::int64_t> counts;  // [clusters] points nearest each centroid (last assignment)
  std::vector<double> inertia;       // [iterations run] sum of squared distances to the nearest
                                     // centroid, measured before each update
};

// Collective. local_points [n_r, d] (d equal on all ranks). Throws Error if there are fewer
// points than clusters over all ranks.
KMeansResult kmeans(ConstRows local_points, const KMeansOptions& options,
                    const mpi::Communicator& comm);

// Nearest centroid of each point under squared L2, ties to the smaller index; each point's
// result depends only on it and the centroids (pairwise.hpp), not on its rank or position.
//   points [n, d]; centroids [c, d]; labels [n] out; distances [n] out (squared L2) or nullptr
void assign_nearest(ConstRows points, ConstRows centroids, std::int64_t* labels, float* distances);

// k-means++ seeding on points [n, d] held whole: clusters rows of points.
RowMatrixXf kmeans_plus_plus(ConstRows points, Eigen::Index clusters, std::uint64_t seed);

}  // namespace aepipe::index
