#pragma once
// Any index: built from a spec (spec.hpp), searched, written and read (index_file.hpp) the
// same way whatever its kind.
#include <cstdint>
#include <variant>

#include "index/exact_search.hpp"
#include "index/hash.hpp"
#include "index/ivf.hpp"
#include "index/spec.hpp"

namespace aepipe::index {

using Index = std::variant<FlatIndex, IvfIndex, HashIndex>;

struct BuildOptions {
  std::uint64_t seed = 1;
  int kmeans_iterations = 20;
  Eigen::Index max_points_per_list = 256;  // IVF training sample per list (faiss: 256)
  int itq_iterations = 50;
  Eigen::Index hash_training_rows = 16384;
};

// Collective: rank r holds rows [first_r, first_r + n_r) of the database [N, d] (ranks in
// order); ids are global row numbers. Every rank returns the same whole index, for any rank
// count. Throws (on every rank) if the vectors hold NaN or infinity.
Index build_index(const IndexSpec& spec, ConstRows local_vectors, const BuildOptions& options,
                  const mpi::Communicator& comm);

// queries [Q, d] -> Neighbours [Q, k] (options.nprobe for IVF).
Neighbours search(const Index& index, ConstRows queries, const SearchOptions& options);

// The spec an index answers to (its kind, metric, nlist or bits).
IndexSpec spec_of(const Index& index);
Eigen::Index size_of(const Index& index);
Eigen::Index dim_of(const Index& index);

}  // namespace aepipe::index
