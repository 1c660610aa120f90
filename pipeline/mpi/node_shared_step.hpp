#pragma once
// The sharded optimiser step (mpi/shards.hpp) through memory that the ranks of one node share
// (MPI-3 shared windows) instead of messages, for jobs whose ranks all run on one node.
//
// The node holds one copy of the parameters; every rank's network reads it in place, and each
// rank updates only its slice. Each rank writes its gradient into a buffer of its own that
// the others can read, and the owner of a slice adds that slice of every buffer itself. Per
// step that replaces the two rings (reduce-scatter of the gradient, allgather of the
// parameters: 2 (P-1)/P of the gradient copied through the kernel, CMA) by one read of the
// other ranks' gradient slices and two barriers. Measured on this project's 2-core machine,
// 11 MB gradient, 2 ranks: the rings 5.5 ms per step, summing through shared memory plus
// reading shared parameters in place ~2.5 ms (docs/scaling.md).
//
// A step, on every rank:
//   compute the gradient into gradient()       (parameters(): read only)
//   gradients_ready()                          barrier: all gradients written, nobody reads
//                                              the parameters until parameters_ready()
//   sum_own_slice(out); update own slice of parameters()   (other slices: not touched)
//   parameters_ready()                         barrier: parameters whole again; gradient()
//                                              buffers free to be written
#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "mpi/communicator.hpp"
#include "mpi/shards.hpp"

namespace aepipe::mpi {

class NodeSharedStep {
 public:
  // Collective. Null (on every rank) when there is one rank, when the ranks span more than one
  // node, when some rank's environment sets AEPIPE_SHARED_STEP=0 (the rings, e.g. to
  // compare), or when the windows' backing file system (/dev/shm, or Open MPI's
  // osc_sm_backing_directory) has less room than they need (rank 0 warns). Otherwise parameters()
  // starts as `initial` (the same on every rank; each copies its slice). Throws RankError on every
  // rank if a window cannot be allocated (the message names the rank, the size and the way around
  // it).
  static std::unique_ptr<NodeSharedStep> create(const Communicator& comm, const Shards& shards,
                                                std::span<const float> initial);
  // Collective (MPI_Win_free), except while an exception unwinds: then it frees nothing.
  ~NodeSharedStep();
  NodeSharedStep(const NodeSharedStep&) = delete;
  NodeSharedStep& operator=(const NodeSharedStep&) = delete;

  // The node's parameters, shards.size() floats: the same memory on every rank.
  std::span<float> parameters() const { return parameters_; }
  // This rank's gradient buffer, shards.size() floats, read by the others in sum_own_slice.
  std::span<float> gradient() const { return gradients_[static_cast<std::size_t>(comm_.rank())]; }

  void gradients_ready() const;  // collective
  // Local, between gradients_ready() and parameters_ready(): out[i] for i in this rank's slice
  // is the sum of every rank's gradient()[i], added in rank order starting from rank 0's term
  // (not from 0.0f, which would turn a sum of -0.0f terms into +0.0f): the rings' bits where
  // at most two terms are non-zero, as on the trainer's float path. Other elements of out are
  // left as they are.
  void sum_own_slice(std::span<float> out) const;
  void parameters_ready() const;  // collective

 private:
  NodeSharedStep(const Communicator& comm, const Shards& shards);
  void synchronise() const;  // memory barrier, MPI_Barrier, memory barrier

  const Communicator& comm_;
  const Shards& shards_;
  int exceptions_at_start_ = 0;  // std::uncaught_exceptions() when made
  MPI_Win parameter_window_ = MPI_WIN_NULL;
  MPI_Win gradient_window_ = MPI_WIN_NULL;
  std::span<float> parameters_;
  std::vector<std::span<float>> gradients_;  // one per rank, through the window
};

}  // namespace aepipe::mpi
