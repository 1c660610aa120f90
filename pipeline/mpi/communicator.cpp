#include "mpi/communicator.hpp"

#include <cstring>
#include <utility>

#include "util/error.hpp"

namespace aepipe::mpi {

Communicator::Communicator(MPI_Comm parent) {
  check(MPI_Comm_dup(parent, &comm_), "MPI_Comm_dup");
  check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

Communicator::~Communicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (comm_ != MPI_COMM_NULL && !finalized) MPI_Comm_free(&comm_);  // no-throw: result ignored
}

Communicator::Communicator(Communicator&& other) noexcept
    : comm_(std::exchange(other.comm_, MPI_COMM_NULL)), rank_(other.rank_), size_(other.size_) {}

Communicator& Communicator::operator=(Communicator&& other) noexcept {
  if (this != &other) {
    Communicator dying(std::move(*this));
    comm_ = std::exchange(other.comm_, MPI_COMM_NULL);
    rank_ = other.rank_;
    size_ = other.size_;
  }
  return *this;
}

int Communicator::ranks_on_node() const {
  MPI_Comm node = MPI_COMM_NULL;
  check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
        "MPI_Comm_split_type");
  int size = 1;
  MPI_Comm_size(node, &size);
  MPI_Comm_free(&node);
  return size;
}

void Communicator::barrier() const {
  check(MPI_Barrier(comm_), "MPI_Barrier");
}

void Communicator::abort(int exit_code) const {
  MPI_Abort(comm_ == MPI_COMM_NULL ? MPI_COMM_WORLD : comm_, exit_code);
  std::abort();  // MPI_Abort does not return; this satisfies [[noreturn]] if it ever did.
}

void Communicator::broadcast(std::string& text, int root) const {
  auto length = broadcast(static_cast<std::uint64_t>(text.size()), root);
  text.resize(length);
  broadcast(std::span(text.data(), text.size()), root);
}

void Communicator::broadcast(std::vector<std::string>& texts, int root) const {
  // Packed as [uint64 length][bytes] per string so one broadcast carries the whole list.
  std::string packed;
  if (rank_ == root) {
    for (const auto& text : texts) {
      std::uint64_t length = text.size();
      packed.append(reinterpret_cast<const char*>(&length), sizeof length);
      packed.append(text);
    }
  }
  broadcast(packed, root);
  if (rank_ == root) return;
  texts.clear();
  for (size_t at = 0; at < packed.size();) {
    std::uint64_t length = 0;
    std::memcpy(&length, packed.data() + at, sizeof length);
    at += sizeof length;
    texts.emplace_back(packed.data() + at, length);
    at += length;
  }
}

std::vector<char> Communicator::gather_bytes(std::span<const char> local, int root) const {
  // Every rank learns the total first, so an oversized gather fails on all ranks alike.
  const auto total = allreduce_sum(static_cast<std::int64_t>(local.size()));
  if (total > std::numeric_limits<int>::max())
    throw Error(cat("gather of ", total, " bytes exceeds MPI's int count"));
  const int count = static_cast<int>(local.size());
  std::vector<int> counts(rank_ == root ? static_cast<size_t>(size_) : 0);
  check(MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, root, comm_), "MPI_Gather");
  std::vector<int> offsets(counts.size());
  std::vector<char> all;
  if (rank_ == root) {
    int at = 0;
    for (size_t r = 0; r < counts.size(); ++r) {
      offsets[r] = at;
      at += counts[r];
    }
    all.resize(static_cast<size_t>(total));
  }
  check(MPI_Gatherv(local.data(), count, MPI_CHAR, all.data(), counts.data(), offsets.data(),
                    MPI_CHAR, root, comm_),
        "MPI_Gatherv");
  return all;
}

}  // namespace aepipe::mpi
