#include "index/exact_search.hpp"

#include <algorithm>
#include <limits>

#include "index/rows.hpp"
#include "index/scan.hpp"
#include "index/top_k.hpp"
#include "util/error.hpp"

namespace aepipe::index {
namespace {

// Queries per block: enough columns for an efficient GEMM, while the block of products
// (kDatabaseBlock x kQueryBlock floats, 1 MiB) stays in L2.
constexpr Eigen::Index kQueryBlock = 256;

}  // namespace

FlatIndex make_flat(RowMatrixXf vectors, std::vector<std::int64_t> ids, Metric metric,
                    bool stored) {
  if (metric == Metric::kHamming) throw Error("a flat index compares float vectors, not bits");
  if (static_cast<Eigen::Index>(ids.size()) != vectors.rows())
    throw Error(cat("flat index: ", ids.size(), " ids for ", vectors.rows(), " vectors"));
  FlatIndex index;
  index.metric = metric;
  index.vectors = std::move(vectors);
  index.ids = std::move(ids);
  if (metric == Metric::kCosine && !stored) normalise_rows(index.vectors);
  if (metric == Metric::kL2) index.norms = squared_norms(index.vectors);
  return index;
}

FlatIndex build_flat(ConstRows local_vectors, Metric metric, const mpi::Communicator& comm) {
  RowMatrixXf all = gather_rows(local_vectors, comm);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(all.rows()));
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i);
  return make_flat(std::move(all), std::move(ids), metric);
}

void scan_database(const float* database, const float* bias, const std::int64_t* ids,
                   std::int64_t first_id, Eigen::Index n, const float* queries, Eigen::Index q,
                   Eigen::Index dim, Metric metric, float* heap_keys, std::int64_t* heap_ids,
                   Eigen::Index k, const Eigen::Index* heap_of, float* products) {
  // Keys: ||y||² - 2 x·y (ranks as squared L2 for a fixed x) or -x·y (ranks as similarity).
  const float alpha = metric == Metric::kL2 ? -2.0f : -1.0f;
  for (Eigen::Index start = 0; start < n; start += kDatabaseBlock) {
    const Eigen::Index rows = std::min(kDatabaseBlock, n - start);
    inner_products(database + start * dim, rows, queries, q, dim, alpha, products);
    for (Eigen::Index i = 0; i < q; ++i) {
      const Eigen::Index heap = heap_of != nullptr ? heap_of[i] : i;
      scan_into_heap(products + i * rows, bias != nullptr ? bias + start : nullptr, rows,
                     ids != nullptr ? ids + start : nullptr, first_id + start, heap_keys + heap * k,
                     heap_ids + heap * k, k);
    }
  }
}

void keys_to_distances(Metric metric, const float* query_norms, Eigen::Index q, Eigen::Index k,
                       float* keys, const std::int64_t* ids) {
  const float missing = is_similarity(metric) ? -std::numeric_limits<float>::infinity()
                                              : std::numeric_limits<float>::infinity();
  for (Eigen::Index i = 0; i < q; ++i)
    for (Eigen::Index j = 0; j < k; ++j) {
      float& key = keys[i * k + j];
      if (ids[i * k + j] < 0)
        key = missing;
      else if (metric == Metric::kL2)
        key = std::max(0.0f, key + query_norms[i]);
      else if (is_similarity(metric))
        key = -key;
    }
}

RowMatrixXf prepare_queries(ConstRows queries, Metric metric) {
  RowMatrixXf prepared = queries;
  if (metric == Metric::kCosine) normalise_rows(prepared);
  return prepared;
}

Neighbours search_flat(const FlatIndex& index, ConstRows queries, const SearchOptions& options) {
  if (queries.cols() != index.dim())
    throw Error(cat("queries have ", queries.cols(), " values per row, the index ", index.dim()));
  if (options.k < 1) throw UsageError(cat("k must be at least 1, got ", options.k));
  const RowMatrixXf prepared = prepare_queries(queries, index.metric);
  const std::vector<float> query_norms =
      index.metric == Metric::kL2 ? squared_norms(prepared) : std::vector<float>();
  const Eigen::Index q = prepared.rows(), k = options.k, dim = index.dim();
  Neighbours result;
  result.resize(q, k);
  const Eigen::Index blocks = (q + kQueryBlock - 1) / kQueryBlock;
#pragma omp parallel
  {
    std::vector<float> products(static_cast<std::size_t>(kDatabaseBlock * kQueryBlock));
#pragma omp for schedule(dynamic)
    for (Eigen::Index block = 0; block < blocks; ++block) {
      const Eigen::Index first = block * kQueryBlock, rows = std::min(kQueryBlock, q - first);
      float* keys = result.distances.data() + first * k;
      std::int64_t* ids = result.ids.data() + first * k;
      for (Eigen::Index i = 0; i < rows; ++i) heap_reset(keys + i * k, ids + i * k, k);
      scan_database(index.vectors.data(), index.norms.empty() ? nullptr : index.norms.data(),
                    index.ids.data(), 0, index.size(), prepared.data() + first * dim, rows, dim,
                    index.metric, keys, ids, k, nullptr, products.data());
      for (Eigen::Index i = 0; i < rows; ++i) heap_sort(keys + i * k, ids + i * k, k);
      keys_to_distances(index.metric, query_norms.empty() ? nullptr : query_norms.data() + first,
                        rows, k, keys, ids);
    }
  }
  return result;
}

}  // namespace aepipe::index
