#pragma once
// Sums of float vectors that do not depend on the order of summation, so P ranks reproduce
// one rank bit for bit (DESIGN rule 5, "for exact equality").
//
// Each element is accumulated as an unevaluated double-double (hi + lo, 106 bits) with
// error-free transformations (TwoSum): adding floats (24 bits) is then exact unless an
// element's terms span more than ~80 binary orders of magnitude, and exact sums are the
// same in any order. The allreduce uses the same addition as a custom MPI operation on
// pairs, and the result is rounded to float once.
//
// Terms can be added one at a time (add) or staged: stage() hands out a float buffer for the
// next term, and up to kMaxStaged staged terms are added to the pairs in one pass. The pairs
// take 16 bytes per element, so adding each term on its own reads and writes 32 bytes per
// element per term (45 MB each way per micro-batch for the deep Fashion model); staging
// brings that down to one pass per kMaxStaged terms, and with one rank and no more than
// kMaxStaged terms round_to() sums the staged floats straight into its output without ever
// writing the pairs. Every way gives the same bits (the sums are exact).
#include <span>
#include <vector>

#include "mpi/communicator.hpp"
#include "mpi/shards.hpp"

namespace aepipe::mpi {

class ExactSum {
 public:
  // Clears to `size` zero elements (keeps the allocations; writes no memory).
  void reset(std::size_t size);
  // Starts from `values` (size() becomes values.size()): reset + add in one pass.
  void assign(std::span<const float> values);
  std::size_t size() const { return size_; }
  // this += values (values.size() == size()).
  void add(std::span<const float> values);
  // A buffer of size() floats for the caller to fill with the next term (in place of add()).
  // Valid until the next call of a non-const member.
  std::span<float> stage();
  // Collective: every rank ends with the exact sum over ranks.
  void allreduce(const Communicator& comm);
  // The sum rounded to float, times `scale`, into out.
  void round_to(std::span<float> out, double scale = 1.0) const;
  // Collective: allreduce() then round_to(out) (out.size() == size()), a piece of 1 MiB of
  // pairs at a time, so the pairs are never written whole: this rank's sum stays as it was.
  void allreduce_round_to(const Communicator& comm, std::span<float> out, double scale = 1.0);
  // Collective, for the sharded optimiser step (mpi/shards.hpp): rounds into out
  // (out.size() == size()) only this rank's slice of the sum over ranks, times `scale`; the
  // rest of out keeps its values. The slices start on multiples of kBlock. When every rank
  // holds only staged terms (no pairs written) and they are kMaxStaged or fewer in all, each
  // rank sends the others their slices of its terms (4 bytes per element and term) and sums
  // its slice of all of them in one pass; otherwise a reduce-scatter ring over 1 MiB pieces
  // of pairs (16 bytes per element, half of what an allreduce moves). This rank's sum stays
  // as it was.
  void reduce_scatter_round_to(const Communicator& comm, std::span<float> out, const Shards& shards,
                               double scale = 1.0);
  // Element i of the sum (hi + lo).
  double value(std::size_t i) const;

  // Elements per block. The pairs are stored in blocks of kBlock his then kBlock los, so the
  // adds run as whole vectors of doubles; the last block is padded with zeros.
  static constexpr std::size_t kBlock = 8;
  // Staged terms summed per pass over the pairs (each takes size() floats of memory).
  static constexpr std::size_t kMaxStaged = 8;

 private:
  // Adds the staged terms to the pairs (writing zeros first if the pairs are still unwritten).
  void fold();
  // dst (count blocks) = the pairs + the staged terms of blocks first_block ... (zero past
  // size()).
  void sum_into(double* dst, std::size_t first_block, std::size_t count) const;
  // Floats from one staged term to the next: whole blocks, so every term starts as aligned as
  // the first for the vector loops that write and read it.
  std::size_t stride() const { return (size_ + kBlock - 1) / kBlock * kBlock; }
  // The pairs, or null while they are zero and unwritten.
  const double* pairs() const { return zero_ ? nullptr : blocks_.data(); }

  std::size_t size_ = 0;
  bool zero_ = true;            // the pairs are zero and blocks_ not written since reset()
  std::vector<double> blocks_;  // [hi0..hi7, lo0..lo7, hi8..hi15, lo8..lo15, ...]
  std::vector<float> staged_;   // staged_count_ terms of size_ floats, stride() apart
  std::size_t staged_count_ = 0;
  // reduce_scatter_round_to's way for few terms; terms[r]: rank r's staged terms.
  void exchange_terms_round_to(const Communicator& comm, std::span<float> out, const Shards& shards,
                               const std::vector<int>& terms, double scale);
  // out[first_block * kBlock ...] = `pairs` (count blocks, summed already) times scale,
  // rounded to float; elements past size() are left out.
  void round_pairs_to(std::span<float> out, const double* pairs, std::size_t first_block,
                      std::size_t count, double scale) const;

  std::vector<double> piece_;     // the collectives' piece of pairs
  std::vector<double> received_;  // reduce_scatter_round_to's piece from the previous rank
  std::vector<double> partial_;   // its running sums of one slice (more than 2 ranks)
};

}  // namespace aepipe::mpi
