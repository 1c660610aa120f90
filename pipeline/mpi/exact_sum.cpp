#include "mpi/exact_sum.hpp"

#include <algorithm>
#include <limits>

#include "util/error.hpp"
#include "util/parallel_ranges.hpp"
#include "util/vector_clones.hpp"

namespace aepipe::mpi {
namespace {

// (hi, lo) += (b_hi, b_lo), renormalised; exact while the sum fits in 106 bits.
inline void add_pair(double& hi, double& lo, double b_hi, double b_lo) {
  const double s = hi + b_hi;  // TwoSum(hi, b_hi)
  const double v = s - hi;
  double e = (hi - (s - v)) + (b_hi - v);
  e += lo + b_lo;
  hi = s + e;  // FastTwoSum(s, e)
  lo = e - (hi - s);
}

constexpr std::size_t kBlock = ExactSum::kBlock;

// Where the pair of element i sits in the blocks.
inline std::size_t pair_at(std::size_t i) {
  return (i / kBlock) * 2 * kBlock + i % kBlock;
}

// Element i of a sum: its pair (`pairs` null: zero) plus `count` staged terms, `stride`
// floats apart from terms[i]. From zero, the first term starts the pair as assign() does
// (0 + value), so staging and add() agree bit for bit, also on infinities.
inline void sum_element(const double* pairs, const float* terms, std::size_t stride,
                        std::size_t count, std::size_t i, double& hi, double& lo) {
  std::size_t t = 0;
  if (pairs != nullptr) {
    hi = pairs[pair_at(i)];
    lo = pairs[pair_at(i) + kBlock];
  } else {
    hi = count > 0 ? static_cast<double>(terms[i]) + 0.0 : 0.0;
    lo = 0.0;
    t = 1;
  }
  for (; t < count; ++t) add_pair(hi, lo, static_cast<double>(terms[t * stride + i]), 0.0);
}

// The adds run once per micro-batch over every gradient (2.8 M for the deep Fashion model),
// so they get AVX2 clones (util/vector_clones.hpp; + and - only, no contraction).

// blocks[b] += in[b] for `count` blocks of kBlock pairs.
AEPIPE_VECTOR_CLONES
void add_blocks(double* __restrict blocks, const double* __restrict in, std::size_t count) {
  for (std::size_t b = 0; b < count; ++b, blocks += 2 * kBlock, in += 2 * kBlock)
    for (std::size_t j = 0; j < kBlock; ++j)
      add_pair(blocks[j], blocks[kBlock + j], in[j], in[kBlock + j]);
}

// blocks[b] += values[b * kBlock ...] for `count` whole blocks.
AEPIPE_VECTOR_CLONES
void add_floats(double* __restrict blocks, const float* __restrict values, std::size_t count) {
  for (std::size_t b = 0; b < count; ++b, blocks += 2 * kBlock, values += kBlock)
    for (std::size_t j = 0; j < kBlock; ++j)
      add_pair(blocks[j], blocks[kBlock + j], static_cast<double>(values[j]), 0.0);
}

// The pairs of G consecutive blocks plus `count` staged terms (count >= 1 when from_zero), as
// sum_element() computes them, into hi/lo [G * kBlock]. Each term's add waits for the one
// before (a chain of ~8 dependent adds), so several blocks at once keep the FP units busy:
// rounding 4 staged terms of 2.8 M elements took 9.8 ms a block at a time, 7.2 ms four at a
// time (a plain float sum of the same terms, memory-bound: 5.8 ms). Blocks b .. b + G - 1;
// pointers not needed (pairs when from_zero, terms when count is 0) may be null.
template <std::size_t G>
inline void sum_group(const double* pairs, const float* __restrict terms, std::size_t b,
                      std::size_t stride, std::size_t count, bool from_zero, double* hi,
                      double* lo) {
  std::size_t t = 0;
  if (from_zero) {
    for (std::size_t i = 0; i < G * kBlock; ++i) {
      hi[i] = static_cast<double>(terms[kBlock * b + i]) + 0.0;
      lo[i] = 0.0;
    }
    t = 1;
  } else {
    for (std::size_t g = 0; g < G; ++g)
      for (std::size_t j = 0; j < kBlock; ++j) {
        hi[g * kBlock + j] = pairs[2 * kBlock * (b + g) + j];
        lo[g * kBlock + j] = pairs[2 * kBlock * (b + g) + kBlock + j];
      }
  }
  for (; t < count; ++t)
    for (std::size_t i = 0; i < G * kBlock; ++i)
      add_pair(hi[i], lo[i], static_cast<double>(terms[t * stride + kBlock * b + i]), 0.0);
}

constexpr std::size_t kGroup = 4;  // blocks summed at once

// dst[b] = pairs[b] (zero if from_zero) + the staged terms' elements b * kBlock ..., for
// `whole` whole blocks. dst may be pairs (a group is read whole before it is written).
AEPIPE_VECTOR_CLONES
void sum_blocks(double* dst, const double* pairs, const float* __restrict terms, std::size_t stride,
                std::size_t count, std::size_t whole, bool from_zero) {
  const auto store = [&](std::size_t blocks, const double* hi, const double* lo) {
    for (std::size_t g = 0; g < blocks; ++g)
      for (std::size_t j = 0; j < kBlock; ++j) {
        dst[2 * kBlock * g + j] = hi[g * kBlock + j];
        dst[2 * kBlock * g + kBlock + j] = lo[g * kBlock + j];
      }
  };
  std::size_t b = 0;
  for (; b + kGroup <= whole; b += kGroup) {
    double hi[kGroup * kBlock], lo[kGroup * kBlock];
    sum_group<kGroup>(pairs, terms, b, stride, count, from_zero, hi, lo);
    store(kGroup, hi, lo);
    dst += 2 * kBlock * kGroup;
  }
  for (; b < whole; ++b) {
    double hi[kBlock], lo[kBlock];
    sum_group<1>(pairs, terms, b, stride, count, from_zero, hi, lo);
    store(1, hi, lo);
    dst += 2 * kBlock;
  }
}

// out[b * kBlock ...] = (pairs + staged terms) * scale rounded to float, for `whole` whole
// blocks (`pairs` unused when from_zero).
AEPIPE_VECTOR_CLONES
void round_blocks(float* __restrict out, const double* __restrict pairs,
                  const float* __restrict terms, std::size_t stride, std::size_t count,
                  std::size_t whole, bool from_zero, double scale) {
  std::size_t b = 0;
  for (; b + kGroup <= whole; b += kGroup) {
    double hi[kGroup * kBlock], lo[kGroup * kBlock];
    sum_group<kGroup>(pairs, terms, b, stride, count, from_zero, hi, lo);
    for (std::size_t i = 0; i < kGroup * kBlock; ++i)
      out[kBlock * b + i] = static_cast<float>((hi[i] + lo[i]) * scale);
  }
  for (; b < whole; ++b) {
    double hi[kBlock], lo[kBlock];
    sum_group<1>(pairs, terms, b, stride, count, from_zero, hi, lo);
    for (std::size_t j = 0; j < kBlock; ++j)
      out[kBlock * b + j] = static_cast<float>((hi[j] + lo[j]) * scale);
  }
}

extern "C" void block_sum(void* in, void* inout, int* length, MPI_Datatype*) {
  add_blocks(static_cast<double*>(inout), static_cast<const double*>(in),
             static_cast<std::size_t>(*length));
}

struct BlockOperation {
  MPI_Datatype type = MPI_DATATYPE_NULL;
  MPI_Op op = MPI_OP_NULL;
  BlockOperation() {
    check(MPI_Type_contiguous(2 * kBlock, MPI_DOUBLE, &type), "MPI_Type_contiguous");
    check(MPI_Type_commit(&type), "MPI_Type_commit");
    check(MPI_Op_create(block_sum, 1, &op), "MPI_Op_create");
  }
};

std::size_t blocks_for(std::size_t size) {
  return (size + kBlock - 1) / kBlock;
}

}  // namespace

void ExactSum::reset(std::size_t size) {
  size_ = size;
  zero_ = true;
  staged_count_ = 0;
}

void ExactSum::assign(std::span<const float> values) {
  size_ = values.size();
  staged_count_ = 0;
  zero_ = false;
  const std::size_t blocks = blocks_for(size_);
  blocks_.resize(2 * kBlock * blocks);
  for (std::size_t b = 0; b < blocks; ++b) {
    double* block = blocks_.data() + 2 * kBlock * b;
    for (std::size_t j = 0; j < kBlock; ++j) {
      const std::size_t i = b * kBlock + j;
      // 0 + value, as reset() then add() computes it: -0 becomes +0.
      block[j] = i < size_ ? static_cast<double>(values[i]) + 0.0 : 0.0;
      block[kBlock + j] = 0.0;
    }
  }
}

void ExactSum::add(std::span<const float> values) {
  if (values.size() != size_)
    throw Error(cat("internal: exact sum of ", size_, " values given ", values.size()));
  fold();
  const std::size_t whole = size_ / kBlock;
  add_floats(blocks_.data(), values.data(), whole);
  double* tail = blocks_.data() + 2 * kBlock * whole;
  for (std::size_t j = 0; j < size_ % kBlock; ++j)
    add_pair(tail[j], tail[kBlock + j], static_cast<double>(values[whole * kBlock + j]), 0.0);
}

std::span<float> ExactSum::stage() {
  if (staged_count_ == kMaxStaged) fold();
  const std::size_t end = staged_count_ * stride() + size_;
  if (staged_.size() < end) staged_.resize(end);  // grows once; later steps reuse it
  return std::span(staged_).subspan(staged_count_++ * stride(), size_);
}

void ExactSum::sum_into(double* dst, std::size_t first_block, std::size_t count) const {
  const bool from_zero = zero_;  // then the pairs are not read (nor written yet)
  const double* first_pairs = from_zero ? nullptr : blocks_.data() + 2 * kBlock * first_block;
  const float* terms = staged_count_ > 0 ? staged_.data() + kBlock * first_block : nullptr;
  if (from_zero && staged_count_ == 0) {
    std::fill_n(dst, 2 * kBlock * count, 0.0);
    return;
  }
  const std::size_t whole = std::min(count, size_ / kBlock - std::min(size_ / kBlock, first_block));
  sum_blocks(dst, first_pairs, terms, stride(), staged_count_, whole, from_zero);
  if (whole < count) {  // the last block of the sum: its elements, then zero padding
    double* tail = dst + 2 * kBlock * whole;
    for (std::size_t j = 0; j < kBlock; ++j) {
      const std::size_t i = (first_block + whole) * kBlock + j;
      double hi = 0.0, lo = 0.0;
      if (i < size_) sum_element(pairs(), staged_.data(), stride(), staged_count_, i, hi, lo);
      tail[j] = hi;
      tail[kBlock + j] = lo;
    }
  }
}

void ExactSum::fold() {
  const std::size_t blocks = blocks_for(size_);
  blocks_.resize(2 * kBlock * blocks);
  if (!zero_ && staged_count_ == 0) return;
  for_each_range(blocks, 8, [&](std::size_t begin, std::size_t end) {
    sum_into(blocks_.data() + 2 * kBlock * begin, begin, end - begin);
  });
  zero_ = false;
  staged_count_ = 0;
}

namespace {

// Created once per process, after MPI_Init; MPI frees them at MPI_Finalize.
const BlockOperation& block_operation() {
  static const BlockOperation operation;
  return operation;
}

// Blocks per MPI call: 1 MiB. One call over the whole buffer is 2.7x slower with Open MPI 4.1
// here (2 ranks, 45 MB of pairs for the deep Fashion model: 41 ms in one call, 15 ms in 1 MiB
// calls, 17 ms at 256 KiB or 4 MiB), and a piece this size stays in cache between the adds
// that make it and the rounding that reads it (allreduce_round_to).
constexpr std::size_t kPiece = (std::size_t{1} << 20) / (2 * kBlock * sizeof(double));

constexpr int kExactSumTag = 7303;  // reduce_scatter_round_to's ring

}  // namespace

void ExactSum::allreduce(const Communicator& comm) {
  if (comm.size() == 1) return;
  fold();
  const std::size_t blocks = blocks_for(size_);
  for (std::size_t first = 0; first < blocks; first += kPiece) {
    const std::size_t count = std::min(kPiece, blocks - first);
    check(MPI_Allreduce(MPI_IN_PLACE, blocks_.data() + 2 * kBlock * first, static_cast<int>(count),
                        block_operation().type, block_operation().op, comm.get()),
          "MPI_Allreduce (exact sum)");
  }
}

void ExactSum::allreduce_round_to(const Communicator& comm, std::span<float> out, double scale) {
  if (comm.size() == 1) return round_to(out, scale);
  if (out.size() != size_)
    throw Error(cat("internal: exact sum of ", size_, " values rounded into ", out.size()));
  const std::size_t blocks = blocks_for(size_);
  piece_.resize(2 * kBlock * std::min(kPiece, blocks));
  for (std::size_t first = 0; first < blocks; first += kPiece) {
    const std::size_t count = std::min(kPiece, blocks - first);
    sum_into(piece_.data(), first, count);
    check(MPI_Allreduce(MPI_IN_PLACE, piece_.data(), static_cast<int>(count),
                        block_operation().type, block_operation().op, comm.get()),
          "MPI_Allreduce (exact sum)");
    round_pairs_to(out, piece_.data(), first, count, scale);
  }
}

void ExactSum::round_pairs_to(std::span<float> out, const double* pairs, std::size_t first_block,
                              std::size_t count, double scale) const {
  const std::size_t begin = first_block * kBlock;
  const std::size_t end = std::min(size_, (first_block + count) * kBlock);
  if (end <= begin) return;
  round_blocks(out.data() + begin, pairs, nullptr, 0, 0, (end - begin) / kBlock, false, scale);
  for (std::size_t i = begin + (end - begin) / kBlock * kBlock; i < end; ++i) {
    const double* pair = pairs + pair_at(i - begin);
    out[i] = static_cast<float>((pair[0] + pair[kBlock]) * scale);
  }
}

void ExactSum::reduce_scatter_round_to(const Communicator& comm, std::span<float> out,
                                       const Shards& shards, double scale) {
  const int p = comm.size();
  if (out.size() != size_ || shards.size() != size_ || shards.ranks() != p)
    throw Error(cat("internal: exact sum of ", size_, " values reduce-scattered into ", out.size(),
                    " over shards of ", shards.size(), " for ", shards.ranks(), " ranks"));
  if (p == 1) return round_to(out, scale);
  // Terms each rank holds unfolded, or -1 where its pairs are written.
  const int mine = zero_ ? static_cast<int>(staged_count_) : -1;
  std::vector<int> terms(static_cast<std::size_t>(p));
  check(MPI_Allgather(&mine, 1, MPI_INT, terms.data(), 1, MPI_INT, comm.get()),
        "MPI_Allgather (exact sum)");
  int total = 0;
  for (const int count : terms) total = count < 0 || total < 0 ? -1 : total + count;
  if (total >= 0 && total <= static_cast<int>(kMaxStaged))
    return exchange_terms_round_to(comm, out, shards, terms, scale);
  // Slices in blocks: [first(r), first(r) + blocks(r)).
  const auto first = [&](int r) { return shards.begin(r) / kBlock; };
  const auto blocks = [&](int r) { return blocks_for(shards.end(r)) - first(r); };
  std::size_t largest = 0;
  for (int r = 0; r < p; ++r) {
    if (shards.begin(r) % kBlock != 0)
      throw Error(cat("internal: exact sum slice at ", shards.begin(r), " is not on a block"));
    largest = std::max(largest, blocks(r));
  }
  const std::size_t piece = std::min(kPiece, largest);
  piece_.resize(2 * kBlock * piece);
  received_.resize(2 * kBlock * piece);
  if (p > 2) partial_.resize(2 * kBlock * largest);
  // The ring of reduce_scatter_sum (mpi/shards.cpp) on pairs: the running sums of the slice
  // being passed on are kept in partial_ (at step 0 this rank's own pairs are built a piece
  // at a time instead), and the last step rounds this rank's own slice.
  for (int step = 0; step < p - 1; ++step) {
    const int send = shards.reduce_scatter_slice(comm.rank(), step);
    const int receive = shards.reduce_scatter_slice(comm.rank(), step + 1);
    const bool last = step == p - 2;
    ring_step(
        comm, blocks(send), blocks(receive), largest, piece, block_operation().type, kExactSumTag,
        [&](std::size_t offset, std::size_t count) -> const double* {
          if (step > 0) return partial_.data() + 2 * kBlock * offset;
          sum_into(piece_.data(), first(send) + offset, count);
          return piece_.data();
        },
        [&](std::size_t) { return received_.data(); },
        [&](std::size_t offset, std::size_t count) {
          double* sum = last ? piece_.data() : partial_.data() + 2 * kBlock * offset;
          sum_into(sum, first(receive) + offset, count);
          add_blocks(sum, received_.data(), count);
          if (last) round_pairs_to(out, sum, first(receive) + offset, count, scale);
        });
  }
}

void ExactSum::exchange_terms_round_to(const Communicator& comm, std::span<float> out,
                                       const Shards& shards, const std::vector<int>& terms,
                                       double scale) {
  const int p = comm.size(), rank = comm.rank();
  const auto count_of = [&](int r) {
    return static_cast<std::size_t>(terms[static_cast<std::size_t>(r)]);
  };
  std::size_t total = 0, most = 0;
  for (int r = 0; r < p; ++r) {
    total += count_of(r);
    most = std::max(most, count_of(r));
  }
  const std::size_t begin = shards.begin(rank), end = shards.end(rank);
  if (total == 0) {
    std::fill(out.begin() + static_cast<std::ptrdiff_t>(begin),
              out.begin() + static_cast<std::ptrdiff_t>(end), 0.0f);
    return;
  }
  // This rank's terms stay in slots 0 .. count_of(rank) - 1; the other ranks' terms of this
  // rank's slice are received into the slots after them (only the slice's floats written).
  if (staged_.size() < total * stride()) staged_.resize(total * stride());
  std::size_t slot = count_of(rank);
  for (int step = 1; step < p; ++step) {
    const int to = (rank + step) % p, from = (rank - step + p) % p;
    // The same number of calls on every rank (the most terms any rank has), so that each
    // pairs with both partners' calls; a missing term is an empty message.
    for (std::size_t j = 0; j < most; ++j) {
      const std::size_t out_count = j < count_of(rank) ? shards.length(to) : 0;
      const std::size_t in_count = j < count_of(from) ? end - begin : 0;
      check(MPI_Sendrecv(staged_.data() + j * stride() + shards.begin(to),
                         static_cast<int>(out_count), MPI_FLOAT, to, kExactSumTag,
                         staged_.data() + (slot + j) * stride() + begin, static_cast<int>(in_count),
                         MPI_FLOAT, from, kExactSumTag, comm.get(), MPI_STATUS_IGNORE),
            "MPI_Sendrecv (exact sum terms)");
    }
    slot += count_of(from);
  }
  // All `total` terms of the slice summed from zero in one pass, as round_to() does them.
  const std::size_t whole = (end - begin) / kBlock;
  for_each_range(whole, 8, [&](std::size_t first, std::size_t last) {
    round_blocks(out.data() + begin + kBlock * first, nullptr,
                 staged_.data() + begin + kBlock * first, stride(), total, last - first, true,
                 scale);
  });
  for (std::size_t i = begin + whole * kBlock; i < end; ++i) {
    double hi = 0.0, lo = 0.0;
    sum_element(nullptr, staged_.data(), stride(), total, i, hi, lo);
    out[i] = static_cast<float>((hi + lo) * scale);
  }
}

void ExactSum::round_to(std::span<float> out, double scale) const {
  const std::size_t count = std::min(out.size(), size_);
  if (zero_ && staged_count_ == 0) {
    std::fill_n(out.begin(), count, 0.0f);
    return;
  }
  const std::size_t whole = count / kBlock;
  for_each_range(whole, 8, [&](std::size_t begin, std::size_t end) {
    // Null where unused (the blocks when zero_, the stage when nothing is staged).
    round_blocks(out.data() + kBlock * begin, zero_ ? nullptr : blocks_.data() + 2 * kBlock * begin,
                 staged_count_ > 0 ? staged_.data() + kBlock * begin : nullptr, stride(),
                 staged_count_, end - begin, zero_, scale);
  });
  for (std::size_t i = whole * kBlock; i < count; ++i) {
    double hi = 0.0, lo = 0.0;
    sum_element(pairs(), staged_.data(), stride(), staged_count_, i, hi, lo);
    out[i] = static_cast<float>((hi + lo) * scale);
  }
}

double ExactSum::value(std::size_t i) const {
  double hi = 0.0, lo = 0.0;
  sum_element(pairs(), staged_.data(), stride(), staged_count_, i, hi, lo);
  return hi + lo;
}

}  // namespace aepipe::mpi
