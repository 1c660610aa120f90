#pragma once
// Data and double-precision references shared by the index tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "index/spec.hpp"
#include "index/types.hpp"
#include "util/error.hpp"

namespace aepipe::index::testing {

// [rows, dim] standard normal values, from `seed`.
inline RowMatrixXf random_rows(Eigen::Index rows, Eigen::Index dim, unsigned seed) {
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal;
  RowMatrixXf values(rows, dim);
  for (Eigen::Index i = 0; i < values.size(); ++i) values.data()[i] = normal(generator);
  return values;
}

// `clusters` well-separated blobs: centre c at 20 * e_(c mod dim) * (1 + c / dim), points
// spread by 0.5. Row i belongs to blob i % clusters.
inline RowMatrixXf blobs(Eigen::Index rows, Eigen::Index dim, Eigen::Index clusters, unsigned seed,
                         RowMatrixXf* centres = nullptr) {
  RowMatrixXf centre = RowMatrixXf::Zero(clusters, dim);
  for (Eigen::Index c = 0; c < clusters; ++c)
    centre(c, c % dim) = 20.0f * static_cast<float>(1 + c / dim) * (c % 2 == 0 ? 1.0f : -1.0f);
  RowMatrixXf points = random_rows(rows, dim, seed) * 0.5f;
  for (Eigen::Index i = 0; i < rows; ++i) points.row(i) += centre.row(i % clusters);
  if (centres != nullptr) *centres = centre;
  return points;
}

// The metric's value between two rows in double: squared L2, inner product or cosine.
inline double reference_value(const float* a, const float* b, Eigen::Index dim, Metric metric) {
  double dot = 0, aa = 0, bb = 0, l2 = 0;
  for (Eigen::Index j = 0; j < dim; ++j) {
    dot += double{a[j]} * b[j];
    aa += double{a[j]} * a[j];
    bb += double{b[j]} * b[j];
    l2 += (double{a[j]} - b[j]) * (double{a[j]} - b[j]);
  }
  if (metric == Metric::kL2) return l2;
  if (metric == Metric::kInnerProduct) return dot;
  return aa > 0 && bb > 0 ? dot / std::sqrt(aa * bb) : 0.0;
}

// Brute force in double: the k best ids of each query (ties to the smaller id) and values.
struct Reference {
  std::vector<std::int64_t> ids;  // [q, k]
  std::vector<double> values;     // [q, k]
};
inline Reference brute_force(const RowMatrixXf& database, const RowMatrixXf& queries,
                             Eigen::Index k, Metric metric) {
  Reference reference;
  const bool similarity = is_similarity(metric);
  std::vector<std::int64_t> order(static_cast<std::size_t>(database.rows()));
  std::vector<double> values(order.size());
  for (Eigen::Index q = 0; q < queries.rows(); ++q) {
    for (Eigen::Index i = 0; i < database.rows(); ++i)
      values[i] =
          reference_value(queries.row(q).data(), database.row(i).data(), database.cols(), metric);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
      return similarity ? values[a] > values[b] : values[a] < values[b];
    });
    for (Eigen::Index j = 0; j < k; ++j) {
      const bool present = j < database.rows();
      reference.ids.push_back(present ? order[j] : -1);
      reference.values.push_back(present ? values[order[j]] : (similarity ? -INFINITY : INFINITY));
    }
  }
  return reference;
}

// Results agree with the reference: values position by position within `tolerance` times the
// scale of the data, and each id either the reference's or a tie (its exact value as close).
inline void expect_matches(const Neighbours& result, const Reference& reference,
                           const RowMatrixXf& database, const RowMatrixXf& queries, Metric metric,
                           double tolerance) {
  ASSERT_EQ(result.ids.size(), reference.ids.size());
  for (Eigen::Index q = 0; q < result.queries; ++q)
    for (Eigen::Index j = 0; j < result.k; ++j) {
      const std::size_t at = static_cast<std::size_t>(q * result.k + j);
      const double expected = reference.values[at];
      const std::int64_t id = result.ids[at];
      if (reference.ids[at] < 0) {
        EXPECT_EQ(id, -1) << "query " << q << " rank " << j;
        EXPECT_EQ(result.distances[at], static_cast<float>(expected));
        continue;
      }
      const double scale = 1.0 + std::abs(expected);
      EXPECT_NEAR(result.distances[at], expected, tolerance * scale)
          << "query " << q << " rank " << j;
      if (id != reference.ids[at]) {
        ASSERT_GE(id, 0) << "query " << q << " rank " << j;
        const double actual = reference_value(queries.row(q).data(), database.row(id).data(),
                                              database.cols(), metric);
        EXPECT_NEAR(actual, expected, tolerance * scale)
            << "query " << q << " rank " << j << ": id " << id << " instead of "
            << reference.ids[at] << " is no tie";
      }
    }
}

}  // namespace aepipe::index::testing
