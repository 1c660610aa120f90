#include "index/ivf.hpp"

#include <algorithm>

#include "index/exact_search.hpp"
#include "index/kmeans.hpp"
#include "index/pairwise.hpp"
#include "index/rows.hpp"
#include "index/sampling.hpp"
#include "index/top_k.hpp"
#include "mpi/agreement.hpp"
#include "util/error.hpp"

namespace aepipe::index {
namespace {

// Queries compared with one list per GEMM: bounds the products to kDatabaseBlock x this.
constexpr Eigen::Index kListQueryTile = 256;

// Each vector's list under the coarse metric (ties to the smaller list), the same bits for
// any rank count (pairwise.hpp).  vectors [n, d] -> lists [n]
std::vector<std::int64_t> assign_lists(const IvfIndex& index, ConstRows vectors) {
  std::vector<std::int64_t> lists(static_cast<std::size_t>(vectors.rows()));
  const Pairwise kind =
      coarse_metric(index.metric) == Metric::kL2 ? Pairwise::kSquaredL2 : Pairwise::kDot;
  nearest(vectors, PackedRows(index.centroids), kind, lists.data(), nullptr);
  return lists;
}

// Reorders the gathered database (rows in id order) by list, stably: within a list by id.
void sort_by_list(IvfIndex& index, const RowMatrixXf& vectors,
                  const std::vector<std::int64_t>& lists) {
  const Eigen::Index nlist = index.nlist();
  index.list_offsets.assign(static_cast<std::size_t>(nlist + 1), 0);
  for (std::int64_t list : lists) ++index.list_offsets[static_cast<std::size_t>(list + 1)];
  for (Eigen::Index l = 0; l < nlist; ++l)
    index.list_offsets[static_cast<std::size_t>(l + 1)] +=
        index.list_offsets[static_cast<std::size_t>(l)];
  std::vector<std::int64_t> next(index.list_offsets.begin(), index.list_offsets.end() - 1);
  index.ids.resize(lists.size());
  index.vectors.resize(vectors.rows(), vectors.cols());
  for (std::size_t row = 0; row < lists.size(); ++row) {
    const std::int64_t at = next[static_cast<std::size_t>(lists[row])]++;
    index.ids[static_cast<std::size_t>(at)] = static_cast<std::int64_t>(row);
    index.vectors.row(at) = vectors.row(static_cast<Eigen::Index>(row));
  }
}

}  // namespace

Metric coarse_metric(Metric metric) {
  return metric == Metric::kInnerProduct ? Metric::kInnerProduct : Metric::kL2;
}

void finish_ivf(IvfIndex& index) {
  index.centroid_norms = squared_norms(index.centroids);
  index.norms = index.metric == Metric::kL2 ? squared_norms(index.vectors) : std::vector<float>();
}

IvfIndex build_ivf(ConstRows local_vectors, const IvfOptions& options,
                   const mpi::Communicator& comm) {
  mpi::collectively(comm, [&] {
    if (options.metric == Metric::kHamming)
      throw Error("an IVF index compares float vectors, not bits");
  });
  const RowMatrixXf prepared = prepare_queries(local_vectors, options.metric);
  const RowRange range = global_rows(prepared.rows(), comm);

  // The coarse quantiser, trained on a global sample of at most max_points_per_list * nlist.
  const std::vector<std::int64_t> sample =
      sample_rows(range.total, options.max_points_per_list * options.nlist, options.seed);
  const RowMatrixXf training = take_rows(prepared, local_sample(sample, range).rows);
  KMeansOptions kmeans_options;
  kmeans_options.clusters = options.nlist;
  kmeans_options.iterations = options.iterations;
  kmeans_options.seed = options.seed;
  IvfIndex index;
  index.metric = options.metric;
  index.centroids = kmeans(training, kmeans_options, comm).centroids;
  index.centroid_norms = squared_norms(index.centroids);

  // Each rank assigns its own rows; the lists are then laid out whole on every rank.
  const std::vector<std::int64_t> lists = gather_values(assign_lists(index, prepared), comm);
  sort_by_list(index, gather_rows(prepared, comm), lists);
  finish_ivf(index);
  return index;
}

Neighbours search_ivf(const IvfIndex& index, ConstRows queries, const SearchOptions& options) {
  if (queries.cols() != index.dim())
    throw Error(cat("queries have ", queries.cols(), " values per row, the index ", index.dim()));
  if (options.k < 1) throw UsageError(cat("k must be at least 1, got ", options.k));
  if (options.nprobe < 1) throw UsageError(cat("nprobe must be at least 1, got ", options.nprobe));
  const RowMatrixXf prepared = prepare_queries(queries, index.metric);
  const std::vector<float> query_norms =
      index.metric == Metric::kL2 ? squared_norms(prepared) : std::vector<float>();
  const Eigen::Index q = prepared.rows(), k = options.k, dim = index.dim(), nlist = index.nlist();
  const Eigen::Index nprobe = std::min(options.nprobe, nlist);
  const Eigen::Index batch = std::max<Eigen::Index>(1, options.batch);
  const Metric coarse = coarse_metric(index.metric);
  Neighbours result;
  result.resize(q, k);
  const Eigen::Index batches = (q + batch - 1) / batch;
#pragma omp parallel
  {
    // Scratch per thread, sized once: no allocation per query or per list.
    std::vector<float> products(static_cast<std::size_t>(kDatabaseBlock * kListQueryTile));
    std::vector<float> probe_keys(static_cast<std::size_t>(batch * nprobe));
    std::vector<std::int64_t> probe_lists(static_cast<std::size_t>(batch * nprobe));
    std::vector<Eigen::Index> list_start(static_cast<std::size_t>(nlist + 1));
    std::vector<Eigen::Index> list_queries(static_cast<std::size_t>(batch * nprobe));
    RowMatrixXf tile(kListQueryTile, dim);
#pragma omp for schedule(dynamic)
    for (Eigen::Index b = 0; b < batches; ++b) {
      const Eigen::Index first = b * batch, rows = std::min(batch, q - first);
      const float* batch_queries = prepared.data() + first * dim;
      // 1. The nprobe nearest centroids of each query.
      for (Eigen::Index i = 0; i < rows; ++i)
        heap_reset(&probe_keys[i * nprobe], &probe_lists[i * nprobe], nprobe);
      for (Eigen::Index start = 0; start < rows; start += kListQueryTile)
        scan_database(index.centroids.data(),
                      coarse == Metric::kL2 ? index.centroid_norms.data() : nullptr, nullptr, 0,
                      nlist, batch_queries + start * dim, std::min(kListQueryTile, rows - start),
                      dim, coarse, probe_keys.data() + start * nprobe,
                      probe_lists.data() + start * nprobe, nprobe, nullptr, products.data());
      // 2. Invert: the queries of the batch probing each list, in query order.
      std::fill(list_start.begin(), list_start.end(), 0);
      for (Eigen::Index p = 0; p < rows * nprobe; ++p)
        ++list_start[static_cast<std::size_t>(probe_lists[p] + 1)];
      for (Eigen::Index l = 0; l < nlist; ++l) list_start[l + 1] += list_start[l];
      for (Eigen::Index i = 0; i < rows; ++i)
        for (Eigen::Index p = 0; p < nprobe; ++p)
          list_queries[list_start[probe_lists[i * nprobe + p]]++] = i;
      for (Eigen::Index l = nlist; l > 0; --l) list_start[l] = list_start[l - 1];
      list_start[0] = 0;
      // 3. Scan each probed list against all its queries.
      float* keys = result.distances.data() + first * k;
      std::int64_t* ids = result.ids.data() + first * k;
      for (Eigen::Index i = 0; i < rows; ++i) heap_reset(keys + i * k, ids + i * k, k);
      for (Eigen::Index l = 0; l < nlist; ++l) {
        const std::int64_t begin = index.list_offsets[l], size = index.list_offsets[l + 1] - begin;
        if (size == 0) continue;
        for (Eigen::Index at = list_start[l]; at < list_start[l + 1]; at += kListQueryTile) {
          const Eigen::Index count = std::min(kListQueryTile, list_start[l + 1] - at);
          for (Eigen::Index i = 0; i < count; ++i)
            std::copy_n(batch_queries + list_queries[at + i] * dim, dim, tile.data() + i * dim);
          scan_database(index.vectors.data() + begin * dim,
                        index.norms.empty() ? nullptr : index.norms.data() + begin,
                        index.ids.data() + begin, 0, size, tile.data(), count, dim, index.metric,
                        keys, ids, k, &list_queries[at], products.data());
        }
      }
      for (Eigen::Index i = 0; i < rows; ++i) heap_sort(keys + i * k, ids + i * k, k);
      keys_to_distances(index.metric, query_norms.empty() ? nullptr : query_norms.data() + first,
                        rows, k, keys, ids);
    }
  }
  return result;
}

}  // namespace aepipe::index
