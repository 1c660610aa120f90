#pragma once
// Sums of float vectors that do not depend on the order of summation, so P ranks reproduce
// one rank bit for bit (DESIGN rule 5, "for exact equality").
//
// Each element is accumulated as an unevaluated double-double (hi + lo, 106 bits) with
// error-free transformations (TwoSum): adding floats (24 bits) is then exact unless an
// element's terms span more than ~80 binary orders of magnitude, and exact sums are the
// same in any order. The allreduce uses the same addition as a custom MPI operation on
// pairs, and the result is rounded to float once.
#include <span>
#include <vector>

#include "mpi/communicator.hpp"

namespace aepipe::mpi {

class ExactSum {
 public:
  // Clears to `size` zero elements (keeps the allocation).
  void reset(std::size_t size);
  std::size_t size() const { return pairs_.size() / 2; }
  // this += values (values.size() == size()).
  void add(std::span<const float> values);
  // Collective: every rank ends with the exact sum over ranks.
  void allreduce(const Communicator& comm);
  // The sum rounded to float, times `scale`, into out.
  void round_to(std::span<float> out, double scale = 1.0) const;
  double value(std::size_t i) const { return pairs_[2 * i] + pairs_[2 * i + 1]; }

 private:
  std::vector<double> pairs_;  // [hi0, lo0, hi1, lo1, ...]
};

}  // namespace aepipe::mpi
