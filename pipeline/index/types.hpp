#pragma once
// Shapes shared by every index: vectors are rows of row-major float matrices, and search
// results are [queries, k] row-major arrays of ids and distances.
#include <Eigen/Core>
#include <cstdint>
#include <vector>

namespace aepipe::index {

// [rows, dim] row-major, rows are vectors (codes, centroids, queries).
using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
// A read-only view of such a matrix (an Eigen::Map over a std::vector works too).
using ConstRows = Eigen::Ref<const RowMatrixXf>;

// The k nearest neighbours of each query, best first.
//   ids        [queries, k] row-major; -1 where the index holds fewer than k vectors
//   distances  [queries, k] row-major; squared L2 (ascending) or Hamming distance, or for
//              inner product and cosine the similarity (descending). Missing neighbours have
//              +inf (distances) or -inf (similarities), as faiss does.
// Ties are broken by the smaller id, so results are deterministic.
struct Neighbours {
  Eigen::Index queries = 0;
  Eigen::Index k = 0;
  std::vector<std::int64_t> ids;
  std::vector<float> distances;

  void resize(Eigen::Index query_count, Eigen::Index neighbours) {
    queries = query_count;
    k = neighbours;
    ids.assign(static_cast<std::size_t>(queries * k), -1);
    distances.assign(static_cast<std::size_t>(queries * k), 0.0f);
  }
  const std::int64_t* ids_of(Eigen::Index query) const { return ids.data() + query * k; }
  const float* distances_of(Eigen::Index query) const { return distances.data() + query * k; }
};

// Per-query knobs, as faiss's SearchParameters.
struct SearchOptions {
  Eigen::Index k = 10;
  // IVF: inverted lists scanned per query (clamped to nlist).
  Eigen::Index nprobe = 8;
  // Queries handled together: larger batches share each inverted list's scan among more
  // queries; memory grows with batch * (k + nprobe).
  Eigen::Index batch = 4096;
};

}  // namespace aepipe::index
