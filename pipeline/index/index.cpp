#include "index/index.hpp"

#include "index/rows.hpp"
#include "mpi/agreement.hpp"
#include "util/error.hpp"

namespace aepipe::index {

Index build_index(const IndexSpec& spec, ConstRows local_vectors, const BuildOptions& options,
                  const mpi::Communicator& comm) {
  const auto dim = static_cast<std::int64_t>(local_vectors.cols());
  const auto dims_agree = comm.allreduce_min(dim) == comm.allreduce_max(dim);
  mpi::collectively(comm, [&] {
    if (!dims_agree) throw Error(cat("ranks hold vectors of different sizes (", dim, " here)"));
    require_finite(local_vectors, "vector");
  });
  switch (spec.kind) {
    case Kind::kFlat:
      return build_flat(local_vectors, spec.metric, comm);
    case Kind::kIvf: {
      IvfOptions ivf;
      ivf.nlist = spec.nlist;
      ivf.metric = spec.metric;
      ivf.seed = options.seed;
      ivf.iterations = options.kmeans_iterations;
      ivf.max_points_per_list = options.max_points_per_list;
      return build_ivf(local_vectors, ivf, comm);
    }
    case Kind::kHash: {
      HashOptions hash;
      hash.bits = spec.bits;
      hash.method = spec.hash_method;
      hash.seed = options.seed;
      hash.iterations = options.itq_iterations;
      hash.training_rows = options.hash_training_rows;
      return build_hash(local_vectors, hash, comm);
    }
  }
  throw Error("internal: unknown index kind");
}

Neighbours search(const Index& index, ConstRows queries, const SearchOptions& options) {
  return std::visit(
      [&](const auto& typed) -> Neighbours {
        using T = std::decay_t<decltype(typed)>;
        if constexpr (std::is_same_v<T, FlatIndex>)
          return search_flat(typed, queries, options);
        else if constexpr (std::is_same_v<T, IvfIndex>)
          return search_ivf(typed, queries, options);
        else
          return search_hash(typed, queries, options);
      },
      index);
}

IndexSpec spec_of(const Index& index) {
  IndexSpec spec;
  if (const auto* flat = std::get_if<FlatIndex>(&index)) {
    spec.kind = Kind::kFlat;
    spec.metric = flat->metric;
  } else if (const auto* ivf = std::get_if<IvfIndex>(&index)) {
    spec.kind = Kind::kIvf;
    spec.metric = ivf->metric;
    spec.nlist = ivf->nlist();
  } else {
    const auto& hash = std::get<HashIndex>(index);
    spec.kind = Kind::kHash;
    spec.metric = Metric::kHamming;
    spec.bits = hash.bits;
    spec.hash_method = hash.method;
  }
  return spec;
}

Eigen::Index size_of(const Index& index) {
  return std::visit([](const auto& typed) { return typed.size(); }, index);
}

Eigen::Index dim_of(const Index& index) {
  return std::visit([](const auto& typed) { return typed.dim(); }, index);
}

}  // namespace aepipe::index
