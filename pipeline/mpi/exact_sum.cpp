#include "mpi/exact_sum.hpp"

#include <algorithm>
#include <limits>

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

extern "C" void pair_sum(void* in, void* inout, int* length, MPI_Datatype*) {
  const auto* a = static_cast<const double*>(in);
  auto* b = static_cast<double*>(inout);
  for (int i = 0; i < *length; ++i) add_pair(b[2 * i], b[2 * i + 1], a[2 * i], a[2 * i + 1]);
}

struct PairOperation {
  MPI_Datatype type = MPI_DATATYPE_NULL;
  MPI_Op op = MPI_OP_NULL;
  PairOperation() {
    check(MPI_Type_contiguous(2, MPI_DOUBLE, &type), "MPI_Type_contiguous");
    check(MPI_Type_commit(&type), "MPI_Type_commit");
    check(MPI_Op_create(pair_sum, 1, &op), "MPI_Op_create");
  }
};

}  // namespace

void ExactSum::reset(std::size_t size) {
  pairs_.assign(2 * size, 0.0);
}

void ExactSum::add(std::span<const float> values) {
  double* pair = pairs_.data();
  for (std::size_t i = 0; i < values.size(); ++i, pair += 2)
    add_pair(pair[0], pair[1], static_cast<double>(values[i]), 0.0);
}

void ExactSum::allreduce(const Communicator& comm) {
  if (comm.size() == 1) return;
  // Created once per process, after MPI_Init; MPI frees them at MPI_Finalize.
  static const PairOperation operation;
  constexpr std::size_t kPiece = std::size_t{1} << 28;
  for (std::size_t first = 0; first < size(); first += kPiece) {
    const std::size_t count = std::min(kPiece, size() - first);
    check(MPI_Allreduce(MPI_IN_PLACE, pairs_.data() + 2 * first, static_cast<int>(count),
                        operation.type, operation.op, comm.get()),
          "MPI_Allreduce (exact sum)");
  }
}

void ExactSum::round_to(std::span<float> out, double scale) const {
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<float>((pairs_[2 * i] + pairs_[2 * i + 1]) * scale);
}

}  // namespace aepipe::mpi
