#pragma once
// A communicator with typed collectives over spans, scalars, strings and Eigen buffers.
//
// Non-copyable (as LBANN's lbann_comm): it owns a duplicate of the parent communicator,
// freed in the destructor, and a copy would free it twice or interleave collectives of two
// owners that each believe they hold it alone. Moving transfers ownership.
#include <mpi.h>

#include <Eigen/Core>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "mpi/check.hpp"
#include "mpi/datatype.hpp"

namespace aepipe::mpi {

class Communicator {
 public:
  // Duplicates `parent` so aepipe's collectives never match messages of other libraries.
  explicit Communicator(MPI_Comm parent = MPI_COMM_WORLD);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;
  Communicator(Communicator&& other) noexcept;
  Communicator& operator=(Communicator&& other) noexcept;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  MPI_Comm get() const { return comm_; }

  void barrier() const;
  // Ranks of this communicator on this node (shared memory), this one included.
  int ranks_on_node() const;
  // Ends every rank of the job (MPI_Abort); for failures that cannot be agreed on.
  [[noreturn]] void abort(int exit_code) const;

  // In-place reductions of a buffer of n elements, identical on every rank afterwards.
  template <class T>
  void allreduce_sum(std::span<T> values) const {
    allreduce(values, MPI_SUM);
  }
  template <class T>
  void allreduce_max(std::span<T> values) const {
    allreduce(values, MPI_MAX);
  }
  template <class T>
  void allreduce_min(std::span<T> values) const {
    allreduce(values, MPI_MIN);
  }

  template <class T>
  requires std::is_arithmetic_v<T> T allreduce_sum(T value)
  const {
    allreduce(std::span<T>(&value, 1), MPI_SUM);
    return value;
  }
  template <class T>
  requires std::is_arithmetic_v<T> T allreduce_max(T value)
  const {
    allreduce(std::span<T>(&value, 1), MPI_MAX);
    return value;
  }
  template <class T>
  requires std::is_arithmetic_v<T> T allreduce_min(T value)
  const {
    allreduce(std::span<T>(&value, 1), MPI_MIN);
    return value;
  }

  // Eigen matrices and vectors (contiguous storage), any shape: summed element-wise.
  template <class Derived>
  void allreduce_sum(Eigen::PlainObjectBase<Derived>& buffer) const {
    allreduce(std::span(buffer.data(), static_cast<size_t>(buffer.size())), MPI_SUM);
  }

  // Exclusive prefix sum over ranks: rank r gets sum of `value` over ranks 0..r-1 (0 on rank 0).
  template <class T>
  requires std::is_arithmetic_v<T> T exscan_sum(T value)
  const;

  template <class T>
  void broadcast(std::span<T> values, int root) const;
  template <class T>
  requires std::is_arithmetic_v<T> T broadcast(T value, int root)
  const {
    broadcast(std::span<T>(&value, 1), root);
    return value;
  }
  template <class Derived>
  void broadcast(Eigen::PlainObjectBase<Derived>& buffer, int root) const {
    broadcast(std::span(buffer.data(), static_cast<size_t>(buffer.size())), root);
  }
  // Strings and string lists change size: the root's size is broadcast first.
  void broadcast(std::string& text, int root) const;
  void broadcast(std::vector<std::string>& texts, int root) const;

  // Concatenates every rank's bytes on `root` in rank order (others get an empty vector).
  std::vector<char> gather_bytes(std::span<const char> local, int root) const;

 private:
  // MPI counts are int: buffers are processed in pieces of at most this many elements.
  static constexpr size_t kMaxPiece = size_t{1} << 30;

  template <class T>
  void allreduce(std::span<T> values, MPI_Op op) const;

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

template <class T>
void Communicator::allreduce(std::span<T> values, MPI_Op op) const {
  for (size_t first = 0; first < values.size(); first += kMaxPiece) {
    const size_t count = std::min(kMaxPiece, values.size() - first);
    check(MPI_Allreduce(MPI_IN_PLACE, values.data() + first, static_cast<int>(count), datatype<T>(),
                        op, comm_),
          "MPI_Allreduce");
  }
}

template <class T>
requires std::is_arithmetic_v<T> T Communicator::exscan_sum(T value)
const {
  T result{};
  check(MPI_Exscan(&value, &result, 1, datatype<T>(), MPI_SUM, comm_), "MPI_Exscan");
  // MPI leaves the result on rank 0 undefined.
  return rank_ == 0 ? T{} : result;
}

template <class T>
void Communicator::broadcast(std::span<T> values, int root) const {
  for (size_t first = 0; first < values.size(); first += kMaxPiece) {
    const size_t count = std::min(kMaxPiece, values.size() - first);
    check(MPI_Bcast(values.data() + first, static_cast<int>(count), datatype<T>(), root, comm_),
          "MPI_Bcast");
  }
}

}  // namespace aepipe::mpi
