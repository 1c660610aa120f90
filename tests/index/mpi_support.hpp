#pragma once
// Uneven slices of a dataset over the ranks, as a stage's shards would be.
#include "index/types.hpp"
#include "mpi/communicator.hpp"

namespace aepipe::index::testing {

// Rank r of P holds a share proportional to r + 1 (rank 0 the least, possibly nothing).
inline RowMatrixXf my_slice(const RowMatrixXf& all, const mpi::Communicator& comm) {
  const Eigen::Index p = comm.size(), r = comm.rank(), n = all.rows();
  const Eigen::Index weights = p * (p + 1) / 2;
  const Eigen::Index first = n * (r * (r + 1) / 2) / weights;
  const Eigen::Index last = n * ((r + 1) * (r + 2) / 2) / weights;
  return all.middleRows(first, last - first);
}

}  // namespace aepipe::index::testing
