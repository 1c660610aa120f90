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
  // Starts from `values` (size() becomes values.size()): reset + add in one pass.
  void assign(std::span<const float> values);
  std::size_t size() const { return size_; }
  // this += values (values.size() == size()).
  void add(std::span<const float> values);
  // Collective: every rank ends with the exact sum over ranks.
  void allreduce(const Communicator& comm);
  // The sum rounded to float, times `scale`, into out.
  void round_to(std::span<float> out, double scale = 1.0) const;
  double value(std::size_t i) const {
    const std::size_t at = (i / kBlock) * 2 * kBlock + i % kBlock;
    return blocks_[at] + blocks_[at + kBlock];
  }

  // Elements per block. The pairs are stored in blocks of kBlock his then kBlock los, so the
  // adds run as whole vectors of doubles; the last block is padded with zeros.
  static constexpr std::size_t kBlock = 8;

 private:
  std::size_t size_ = 0;
  std::vector<double> blocks_;  // [hi0..hi7, lo0..lo7, hi8..hi15, lo8..lo15, ...]
};

}  // namespace aepipe::mpi
