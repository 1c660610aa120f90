#pragma once
// IVF: a coarse quantiser of nlist centroids (distributed k-means) splits the database into
// inverted lists; a query scans only the nprobe lists whose centroids are nearest.
//
// Lists are stored contiguously, ordered by list and within a list by id, so the layout is
// the same for any rank count: list l is rows [list_offsets[l], list_offsets[l + 1]) of ids
// and vectors.
//
// Search is batched by list: a batch's queries are grouped by the lists they probe, and each
// list is compared with all its queries in one GEMM, which reads the list once per batch
// instead of once per query.
#include <cstdint>
#include <vector>

#include "index/spec.hpp"
#include "index/types.hpp"
#include "mpi/communicator.hpp"

namespace aepipe::index {

struct IvfIndex {
  Metric metric = Metric::kL2;
  RowMatrixXf centroids;                   // [nlist, d]
  std::vector<std::int64_t> list_offsets;  // [nlist + 1], from 0 to N
  std::vector<std::int64_t> ids;           // [N] sorted by list, then by id
  RowMatrixXf vectors;                     // [N, d] in the order of ids (unit rows for cosine)
  // Derived, not stored:
  std::vector<float> norms;           // [N] ||vector||² (L2 only)
  std::vector<float> centroid_norms;  // [nlist] ||centroid||²

  Eigen::Index nlist() const { return centroids.rows(); }
  Eigen::Index size() const { return vectors.rows(); }
  Eigen::Index dim() const { return centroids.cols(); }
};

struct IvfOptions {
  Eigen::Index nlist = 256;
  Metric metric = Metric::kL2;
  std::uint64_t seed = 1;
  int iterations = 20;  // k-means iterations
  // k-means trains on a global sample of at most this many points per list (faiss: 256).
  Eigen::Index max_points_per_list = 256;
};

// Collective: rank r holds rows [first_r, first_r + n_r) of the database (ranks in order);
// ids are global row numbers. Every rank gets the whole index, identical for any rank count.
IvfIndex build_ivf(ConstRows local_vectors, const IvfOptions& options,
                   const mpi::Communicator& comm);

// Completes an index read from a file (derived arrays). Shapes must already agree.
void finish_ivf(IvfIndex& index);

// The metric the coarse quantiser ranks centroids by: inner product for ip, else squared L2
// (for cosine the vectors are unit, where L2 and cosine order alike).
Metric coarse_metric(Metric metric);

// queries [Q, d] -> Neighbours [Q, k]; options.nprobe lists per query (clamped to nlist).
Neighbours search_ivf(const IvfIndex& index, ConstRows queries, const SearchOptions& options);

}  // namespace aepipe::index
