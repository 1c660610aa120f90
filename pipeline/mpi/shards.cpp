#include "mpi/shards.hpp"

#include <algorithm>

#include "util/error.hpp"

namespace aepipe::mpi {
namespace {

// Floats per MPI_Sendrecv: 1 MiB, as the exact sum's pieces (mpi/exact_sum.cpp): large
// enough that the calls cost nothing, small enough to stay in cache for the add that follows.
constexpr std::size_t kPiece = (std::size_t{1} << 20) / sizeof(float);

constexpr int kReduceScatterTag = 7301, kAllgatherTag = 7302;

void check_shards(const Communicator& comm, std::span<float> values, const Shards& shards,
                  const char* what) {
  if (values.size() != shards.size() || shards.ranks() != comm.size())
    throw Error(cat("internal: ", values.size(), " values ", what, " over shards of ",
                    shards.size(), " for ", shards.ranks(), " ranks (", comm.size(), " ranks)"));
}

}  // namespace

Shards::Shards(std::size_t size, int ranks, std::size_t align) {
  if (ranks < 1 || align < 1) throw Error(cat("internal: ", ranks, " shards aligned to ", align));
  const std::size_t units = (size + align - 1) / align;
  for (int r = 0; r <= ranks; ++r)
    bounds_.push_back(std::min(
        size, units * static_cast<std::size_t>(r) / static_cast<std::size_t>(ranks) * align));
}

std::size_t Shards::largest() const {
  std::size_t most = 0;
  for (int r = 0; r < ranks(); ++r) most = std::max(most, length(r));
  return most;
}

void reduce_scatter_sum(const Communicator& comm, std::span<float> values, const Shards& shards) {
  check_shards(comm, values, shards, "reduce-scattered");
  const int p = comm.size();
  if (p == 1) return;
  std::vector<float> received(std::min(kPiece, shards.largest()));
  // The previous rank's running sum of the received slice is added into this rank's values,
  // from where the next step sends it on; after P - 1 steps slice `rank` has every term.
  for (int step = 0; step < p - 1; ++step) {
    const int send = shards.reduce_scatter_slice(comm.rank(), step);
    const int receive = shards.reduce_scatter_slice(comm.rank(), step + 1);
    float* sum = values.data() + shards.begin(receive);
    const float* partial = values.data() + shards.begin(send);
    ring_step(
        comm, shards.length(send), shards.length(receive), shards.largest(), kPiece, MPI_FLOAT,
        kReduceScatterTag, [&](std::size_t offset, std::size_t) { return partial + offset; },
        [&](std::size_t) { return received.data(); },
        [&](std::size_t offset, std::size_t count) {
          for (std::size_t i = 0; i < count; ++i) sum[offset + i] += received[i];
        });
  }
}

void allgather_shards(const Communicator& comm, std::span<float> values, const Shards& shards) {
  check_shards(comm, values, shards, "allgathered");
  const int p = comm.size();
  if (p == 1) return;
  // Step s passes on slice rank - s (this rank's own at s = 0) and receives slice rank - s - 1.
  for (int step = 0; step < p - 1; ++step) {
    const int send = (comm.rank() - step + p) % p;
    const int receive = (comm.rank() - step - 1 + p) % p;
    const float* own = values.data() + shards.begin(send);
    float* slice = values.data() + shards.begin(receive);
    ring_step(
        comm, shards.length(send), shards.length(receive), shards.largest(), kPiece, MPI_FLOAT,
        kAllgatherTag, [&](std::size_t offset, std::size_t) { return own + offset; },
        [&](std::size_t offset) { return slice + offset; }, [](std::size_t, std::size_t) {});
  }
}

}  // namespace aepipe::mpi
