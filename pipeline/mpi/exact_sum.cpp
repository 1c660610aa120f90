#include "mpi/exact_sum.hpp"

#include <algorithm>
#include <limits>

#include "util/error.hpp"
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
  blocks_.assign(2 * kBlock * blocks_for(size), 0.0);
}

void ExactSum::assign(std::span<const float> values) {
  size_ = values.size();
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
  const std::size_t whole = size_ / kBlock;
  add_floats(blocks_.data(), values.data(), whole);
  double* tail = blocks_.data() + 2 * kBlock * whole;
  for (std::size_t j = 0; j < size_ % kBlock; ++j)
    add_pair(tail[j], tail[kBlock + j], static_cast<double>(values[whole * kBlock + j]), 0.0);
}

void ExactSum::allreduce(const Communicator& comm) {
  if (comm.size() == 1) return;
  // Created once per process, after MPI_Init; MPI frees them at MPI_Finalize.
  static const BlockOperation operation;
  constexpr std::size_t kPiece = std::size_t{1} << 26;  // blocks per call (int count)
  const std::size_t blocks = blocks_for(size_);
  for (std::size_t first = 0; first < blocks; first += kPiece) {
    const std::size_t count = std::min(kPiece, blocks - first);
    check(MPI_Allreduce(MPI_IN_PLACE, blocks_.data() + 2 * kBlock * first, static_cast<int>(count),
                        operation.type, operation.op, comm.get()),
          "MPI_Allreduce (exact sum)");
  }
}

void ExactSum::round_to(std::span<float> out, double scale) const {
  const std::size_t count = std::min(out.size(), size_);
  for (std::size_t b = 0; b * kBlock < count; ++b) {
    const double* block = blocks_.data() + 2 * kBlock * b;
    const std::size_t width = std::min(kBlock, count - b * kBlock);
    for (std::size_t j = 0; j < width; ++j)
      out[b * kBlock + j] = static_cast<float>((block[j] + block[kBlock + j]) * scale);
  }
}

}  // namespace aepipe::mpi
