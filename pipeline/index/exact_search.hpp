#pragma once
// Exact (flat) search: every query against every database vector, blocked over queries and
// database so memory stays at a few blocks of products, whatever N and Q are.
//   squared L2 = ||x||² - 2 x·y + ||y||²  (the x·y by GEMM; ||x||² added only to the k kept)
//   inner product = x·y;  cosine = inner product of unit vectors
#include <cstdint>
#include <vector>

#include "index/spec.hpp"
#include "index/types.hpp"
#include "mpi/communicator.hpp"

namespace aepipe::index {

struct FlatIndex {
  Metric metric = Metric::kL2;
  RowMatrixXf vectors;            // [N, d] rows are database vectors (unit length for cosine)
  std::vector<std::int64_t> ids;  // [N] the id reported for each row
  std::vector<float> norms;       // [N] ||row||² for L2, empty otherwise (derived, not stored)

  Eigen::Index size() const { return vectors.rows(); }
  Eigen::Index dim() const { return vectors.cols(); }
};

// Takes the vectors as they are (normalising them for cosine unless `stored`: read back from
// a file, where they already are) and computes the norms. vectors [N, d], ids [N].
FlatIndex make_flat(RowMatrixXf vectors, std::vector<std::int64_t> ids, Metric metric,
                    bool stored = false);

// Collective: rank r holds rows [first_r, first_r + n_r) of the database (ranks in order);
// ids are global row numbers. Every rank gets the whole index.
FlatIndex build_flat(ConstRows local_vectors, Metric metric, const mpi::Communicator& comm);

// queries [Q, d] -> Neighbours [Q, k]. OpenMP threads share the query blocks.
Neighbours search_flat(const FlatIndex& index, ConstRows queries, const SearchOptions& options);

// The kernel behind search_flat and the IVF list scan, for one block of queries already in
// key form: pushes every database row into each query's heap.
//   database [n, d]; bias [n] (||y||² for L2, nullptr for similarity); ids [n] or nullptr
//   (then ids are first_id + row); queries [q, d]; heap_keys, heap_ids [q, k] row-major
//   heap_of [q]: the heap (row of heap_keys/heap_ids) of each query; nullptr: query i's is i
//   products: scratch of at least kDatabaseBlock * q floats
inline constexpr Eigen::Index kDatabaseBlock = 1024;
void scan_database(const float* database, const float* bias, const std::int64_t* ids,
                   std::int64_t first_id, Eigen::Index n, const float* queries, Eigen::Index q,
                   Eigen::Index dim, Metric metric, float* heap_keys, std::int64_t* heap_ids,
                   Eigen::Index k, const Eigen::Index* heap_of, float* products);

// Turns sorted heaps [q, k] of keys into reported distances (in place): adds ||x||² and
// clamps at 0 for L2 (query_norms [q]), negates for similarities; marks missing slots.
void keys_to_distances(Metric metric, const float* query_norms, Eigen::Index q, Eigen::Index k,
                       float* keys, const std::int64_t* ids);

// The queries as the metric compares them: unit rows for cosine, else a plain copy.
RowMatrixXf prepare_queries(ConstRows queries, Metric metric);

}  // namespace aepipe::index
