// mpi::NodeSharedStep, the sharded step through node-shared memory: the same sums as the
// reduce-scatter ring bit for bit (signed zeros included), each rank's parameter updates
// visible to every rank after parameters_ready(), several steps on the same windows, and
// the ways it is switched off (one rank, AEPIPE_SHARED_STEP=0 on any rank). The tests run on
// one node, where it is on.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "mpi/communicator.hpp"
#include "mpi/node_shared_step.hpp"
#include "mpi/shards.hpp"

namespace aepipe::mpi {
namespace {

// 524296: slices of several 4096-element sum blocks and a remainder at 2 and 4 ranks.
constexpr std::size_t kSizes[] = {1, 5, 9, 1003, 524296};

// Rank r's gradient term of element i at `step`: non-zero on at most two ranks per element,
// as in the trainer's float path; every 7th element is -0.0f on all ranks (the sum must stay
// -0.0f, as the ring's).
float term(std::size_t i, int rank, int ranks, int step) {
  if (i % 7 == 3) return -0.0f;
  const auto owner =
      static_cast<int>((i + static_cast<std::size_t>(step)) % static_cast<std::size_t>(ranks));
  if (rank != owner && rank != (owner + 1) % ranks) return 0.0f;
  return std::ldexp(static_cast<float>((i * 2654435761u + static_cast<std::size_t>(rank) +
                                        static_cast<std::size_t>(step)) %
                                       1000) -
                        500.0f,
                    static_cast<int>(i % 40) - 20);
}

float parameter(std::size_t i, int step) {
  return static_cast<float>(i % 1000) * 0.25f + static_cast<float>(step);
}

TEST(NodeSharedStep, SumsAsTheRingAndSharesEveryRanksUpdates) {
  Communicator comm;
  for (std::size_t size : kSizes) {
    const Shards shards(size, comm.size(), 8);
    std::vector<float> initial(size);
    for (std::size_t i = 0; i < size; ++i) initial[i] = parameter(i, 0);
    const auto step = NodeSharedStep::create(comm, shards, initial);
    if (comm.size() == 1) {
      EXPECT_EQ(step, nullptr) << "one rank has nothing to share";
      continue;
    }
    ASSERT_NE(step, nullptr) << "the ranks of this test share one node";
    ASSERT_EQ(step->parameters().size(), size);
    ASSERT_EQ(step->gradient().size(), size);
    for (std::size_t i = 0; i < size; ++i)
      ASSERT_EQ(step->parameters()[i], initial[i]) << "size " << size << ", element " << i;
    const int rank = comm.rank();
    for (int s = 1; s <= 3; ++s) {  // the same windows, step after step
      for (std::size_t i = 0; i < size; ++i) step->gradient()[i] = term(i, rank, comm.size(), s);
      // What the ring gives, and a sentinel outside this rank's slice.
      std::vector<float> ring(size);
      for (std::size_t i = 0; i < size; ++i) ring[i] = term(i, rank, comm.size(), s);
      reduce_scatter_sum(comm, ring, shards);
      std::vector<float> sum(size, 12345.0f);
      step->gradients_ready();
      step->sum_own_slice(sum);
      for (std::size_t i = 0; i < size; ++i) {
        const bool own = i >= shards.begin(rank) && i < shards.end(rank);
        ASSERT_EQ(std::bit_cast<std::uint32_t>(sum[i]),
                  std::bit_cast<std::uint32_t>(own ? ring[i] : 12345.0f))
            << "size " << size << ", step " << s << ", element " << i << ", rank " << rank;
      }
      // Each rank updates its own slice; after parameters_ready() every rank sees all.
      for (std::size_t i = shards.begin(rank); i < shards.end(rank); ++i)
        step->parameters()[i] = parameter(i, s);
      step->parameters_ready();
      for (std::size_t i = 0; i < size; ++i)
        ASSERT_EQ(step->parameters()[i], parameter(i, s))
            << "size " << size << ", step " << s << ", element " << i << ", rank " << rank;
    }
  }
}

TEST(NodeSharedStep, AnyRankCanSwitchItOff) {
  Communicator comm;
  const Shards shards(100, comm.size(), 8);
  const std::vector<float> initial(100, 1.0f);
  // Set on the last rank only: every rank must take the rings, or the step would hang.
  if (comm.rank() == comm.size() - 1) setenv("AEPIPE_SHARED_STEP", "0", 1);
  const auto off = NodeSharedStep::create(comm, shards, initial);
  unsetenv("AEPIPE_SHARED_STEP");
  EXPECT_EQ(off, nullptr);
  const auto on = NodeSharedStep::create(comm, shards, initial);
  EXPECT_EQ(on != nullptr, comm.size() > 1);
  // Sizes that do not match the shards are an internal error, on every rank alike.
  const std::vector<float> short_initial(99, 1.0f);
  if (comm.size() > 1) {
    EXPECT_ANY_THROW(NodeSharedStep::create(comm, shards, short_initial));
  }
}

// A rank that fails alone (a read error on its own rows) unwinds through the trainer on its
// way to MPI_Abort while the others wait in the step: destroying the object then must not
// wait for them in the collective MPI_Win_free. Here rank 1 unwinds first and must reach the
// barrier; the others then unwind too (their objects are not freed either).
TEST(NodeSharedStep, ARankUnwindingAloneDoesNotWaitForTheOthers) {
  Communicator comm;
  if (comm.size() == 1) return;
  const Shards shards(1000, comm.size(), 8);
  const std::vector<float> initial(1000, 1.0f);
  auto step = NodeSharedStep::create(comm, shards, initial);
  ASSERT_NE(step, nullptr);
  const auto unwind = [&](bool barrier_first) {
    try {
      const auto dying = std::move(step);
      if (barrier_first) comm.barrier();
      throw std::runtime_error("a failure of this rank");
    } catch (const std::runtime_error&) {
    }
  };
  if (comm.rank() == 1) {
    unwind(false);
    comm.barrier();  // never reached if the destructor waited in MPI_Win_free
  } else {
    unwind(true);
  }
  comm.barrier();
}

}  // namespace
}  // namespace aepipe::mpi
