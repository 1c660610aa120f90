#include "index/kmeans.hpp"

#include <algorithm>
#include <span>

#include "index/pairwise.hpp"
#include "index/rows.hpp"
#include "index/sampling.hpp"
#include "mpi/agreement.hpp"
#include "mpi/exact_sum.hpp"
#include "util/error.hpp"

namespace aepipe::index {
namespace {

// Relative nudge that separates a split cluster's two halves (faiss uses the same).
constexpr float kSplitNudge = 1.0f / 1024.0f;

double squared_distance(const float* a, const float* b, Eigen::Index dim) {
  double sum = 0.0;
  for (Eigen::Index j = 0; j < dim; ++j) {
    const double difference = static_cast<double>(a[j]) - static_cast<double>(b[j]);
    sum += difference * difference;
  }
  return sum;
}

// Gives every empty cluster half of the largest one (ties: smaller index), nudging the two
// centroids apart; in index order, so every rank does the same.
void split_empty_clusters(RowMatrixXf& centroids, std::vector<std::int64_t>& counts) {
  const auto clusters = static_cast<Eigen::Index>(counts.size());
  for (Eigen::Index empty = 0; empty < clusters; ++empty) {
    if (counts[static_cast<std::size_t>(empty)] > 0) continue;
    const auto largest =
        static_cast<Eigen::Index>(std::max_element(counts.begin(), counts.end()) - counts.begin());
    if (counts[static_cast<std::size_t>(largest)] < 2) return;
    for (Eigen::Index j = 0; j < centroids.cols(); ++j) {
      const float sign = j % 2 == 0 ? 1.0f : -1.0f;
      const float value = centroids(largest, j);
      centroids(empty, j) = value * (1.0f + sign * kSplitNudge);
      centroids(largest, j) = value * (1.0f - sign * kSplitNudge);
    }
    const std::int64_t half = counts[static_cast<std::size_t>(largest)] / 2;
    counts[static_cast<std::size_t>(empty)] = half;
    counts[static_cast<std::size_t>(largest)] -= half;
  }
}

}  // namespace

void assign_nearest(ConstRows points, ConstRows centroids, std::int64_t* labels, float* distances) {
  nearest(points, PackedRows(centroids), Pairwise::kSquaredL2, labels, distances);
}

RowMatrixXf kmeans_plus_plus(ConstRows points, Eigen::Index clusters, std::uint64_t seed) {
  const Eigen::Index n = points.rows(), dim = points.cols();
  Random random(seed);
  RowMatrixXf centroids(clusters, dim);
  std::vector<double> nearest(static_cast<std::size_t>(n));
  const auto take = [&](Eigen::Index c, Eigen::Index row) {
    centroids.row(c) = points.row(row);
    const float* chosen = centroids.data() + c * dim;
    for (Eigen::Index i = 0; i < n; ++i) {
      const double distance =
          squared_distance(points.data() + i * points.outerStride(), chosen, dim);
      auto& best = nearest[static_cast<std::size_t>(i)];
      best = c == 0 ? distance : std::min(best, distance);
    }
  };
  take(0, static_cast<Eigen::Index>(uniform_below(random, static_cast<std::uint64_t>(n))));
  for (Eigen::Index c = 1; c < clusters; ++c) {
    double total = 0.0;
    for (double distance : nearest) total += distance;
    // Every point already is a centroid: any choice is as good (duplicates split later).
    Eigen::Index row =
        static_cast<Eigen::Index>(uniform_below(random, static_cast<std::uint64_t>(n)));
    if (total > 0.0) {
      const double target = uniform_unit(random) * total;
      double running = 0.0;
      row = n - 1;
      for (Eigen::Index i = 0; i < n; ++i) {
        running += nearest[static_cast<std::size_t>(i)];
        if (running > target) {
          row = i;
          break;
        }
      }
    }
    take(c, row);
  }
  return centroids;
}

KMeansResult kmeans(ConstRows local_points, const KMeansOptions& options,
                    const mpi::Communicator& comm) {
  const RowRange range = global_rows(local_points.rows(), comm);
  const Eigen::Index clusters = options.clusters, dim = local_points.cols();
  mpi::collectively(comm, [&] {
    if (clusters < 1) throw Error(cat("k-means needs at least 1 cluster, got ", clusters));
    if (range.total < clusters)
      throw Error(cat("k-means into ", clusters, " clusters needs at least ", clusters,
                      " points, got ", range.total));
  });

  // Seeds: k-means++ on a sample every rank holds whole (the same rows for any rank count).
  const std::vector<std::int64_t> init_rows = sample_rows(
      range.total, options.init_points_per_cluster * clusters, options.seed ^ 0x6b6d65616e73ULL);
  const LocalSample local_init = local_sample(init_rows, range);
  const RowMatrixXf init_points = gather_rows(take_rows(local_points, local_init.rows), comm);
  KMeansResult result;
  result.centroids = kmeans_plus_plus(init_points, clusters, options.seed);

  const auto n = static_cast<std::size_t>(local_points.rows());
  std::vector<std::int64_t> labels(n), previous(n, -1);
  std::vector<float> distances(n);
  std::vector<mpi::ExactSum> sums(static_cast<std::size_t>(clusters));
  mpi::ExactSum inertia;
  std::vector<float> centroid(static_cast<std::size_t>(dim));
  for (int iteration = 0; iteration < options.iterations; ++iteration) {
    assign_nearest(local_points, result.centroids, labels.data(), distances.data());
    std::int64_t moved = 0;
    for (std::size_t i = 0; i < n; ++i) moved += labels[i] != previous[i];
    moved = comm.allreduce_sum(moved);
    std::swap(labels, previous);

    inertia.reset(1);
    for (float distance : distances) inertia.add(std::span(&distance, 1));
    inertia.allreduce(comm);
    result.inertia.push_back(inertia.value(0));

    result.counts.assign(static_cast<std::size_t>(clusters), 0);
    for (auto& sum : sums) sum.reset(static_cast<std::size_t>(dim));
    for (std::size_t i = 0; i < n; ++i) {
      const auto label = static_cast<std::size_t>(previous[i]);
      ++result.counts[label];
      sums[label].add(
          std::span(local_points.data() + static_cast<Eigen::Index>(i) * local_points.outerStride(),
                    static_cast<std::size_t>(dim)));
    }
    comm.allreduce_sum(std::span(result.counts));
    if (iteration > 0 && moved == 0) break;  // the centroids already are these clusters' means
    for (std::size_t c = 0; c < sums.size(); ++c) {
      sums[c].allreduce(comm);
      const std::int64_t count = result.counts[c];
      if (count == 0) continue;
      for (Eigen::Index j = 0; j < dim; ++j)
        result.centroids(static_cast<Eigen::Index>(c), j) = static_cast<float>(
            sums[c].value(static_cast<std::size_t>(j)) / static_cast<double>(count));
    }
    split_empty_clusters(result.centroids, result.counts);
  }
  return result;
}

}  // namespace aepipe::index
