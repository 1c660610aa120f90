// mpi::Shards and the rings of the sharded optimiser step: the slices cover the vector once
// on block boundaries, the reduce-scatter leaves each rank the sum of its slice, the allgather
// gives every rank every slice. Sizes from smaller than the rank count to several 1 MiB
// pieces per slice.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "mpi/communicator.hpp"
#include "mpi/shards.hpp"

namespace aepipe::mpi {
namespace {

// 524296 at 2 ranks: slices of 262144 and 262152 floats, one and two 1 MiB pieces.
constexpr std::size_t kSizes[] = {1, 5, 8, 9, 1003, 524296, 600001};

TEST(Shards, SlicesCoverTheVectorOnceOnWholeBlocks) {
  for (int ranks : {1, 2, 3, 4, 7}) {
    for (std::size_t size : kSizes) {
      const Shards shards(size, ranks, 8);
      ASSERT_EQ(shards.ranks(), ranks);
      EXPECT_EQ(shards.begin(0), 0u);
      EXPECT_EQ(shards.end(ranks - 1), size);
      std::size_t largest = 0;
      for (int r = 0; r < ranks; ++r) {
        EXPECT_LE(shards.begin(r), shards.end(r));
        if (r > 0) {
          EXPECT_EQ(shards.begin(r), shards.end(r - 1));
        }
        if (shards.begin(r) < size) {
          EXPECT_EQ(shards.begin(r) % 8, 0u) << size << " " << r;
        }
        largest = std::max(largest, shards.length(r));
      }
      EXPECT_EQ(shards.largest(), largest);
      // The reduce-scatter ring ends with each rank receiving its own slice.
      for (int r = 0; r < ranks; ++r) EXPECT_EQ(shards.reduce_scatter_slice(r, ranks - 1), r);
      // As equal as whole blocks allow: no slice more than a block longer than the mean.
      EXPECT_LE(largest, (size + ranks - 1) / ranks + 8) << size << " over " << ranks;
    }
  }
}

// Rank r's term of element i: non-zero on two ranks per element (i mod P and i + 1 mod P), as
// the trainer's float path has at most two non-zero gradient pieces.
float term(std::size_t i, int rank, int ranks) {
  const auto owner = static_cast<int>(i % static_cast<std::size_t>(ranks));
  if (rank != owner && rank != (owner + 1) % ranks) return 0.0f;
  return std::ldexp(
      static_cast<float>((i * 2654435761u + static_cast<std::size_t>(rank)) % 1000) - 500.0f,
      static_cast<int>(i % 40) - 20);
}

TEST(Shards, ReduceScatterLeavesEachRankTheSumOfItsSlice) {
  Communicator comm;
  for (std::size_t size : kSizes) {
    const Shards shards(size, comm.size(), 8);
    std::vector<float> values(size);
    for (std::size_t i = 0; i < size; ++i) values[i] = term(i, comm.rank(), comm.size());
    reduce_scatter_sum(comm, values, shards);
    for (std::size_t i = shards.begin(comm.rank()); i < shards.end(comm.rank()); ++i) {
      float expected = 0.0f;
      for (int r = 0; r < comm.size(); ++r) expected += term(i, r, comm.size());
      ASSERT_EQ(std::bit_cast<std::uint32_t>(values[i]), std::bit_cast<std::uint32_t>(expected))
          << "size " << size << ", element " << i << ", rank " << comm.rank();
    }
  }
}

TEST(Shards, AllgatherGivesEveryRankEverySlice) {
  Communicator comm;
  for (std::size_t size : kSizes) {
    const Shards shards(size, comm.size(), 8);
    // Own slice: the values every rank should end with; elsewhere this rank's garbage.
    std::vector<float> values(size, -1.0f - static_cast<float>(comm.rank()));
    for (std::size_t i = shards.begin(comm.rank()); i < shards.end(comm.rank()); ++i)
      values[i] = static_cast<float>(i) * 0.5f;
    allgather_shards(comm, values, shards);
    for (std::size_t i = 0; i < size; ++i)
      ASSERT_EQ(values[i], static_cast<float>(i) * 0.5f) << "size " << size << ", element " << i;
  }
}

TEST(Shards, MismatchedSizesAreRefused) {
  Communicator comm;
  const Shards shards(100, comm.size(), 8);
  std::vector<float> values(99);
  if (comm.size() > 1) {
    EXPECT_ANY_THROW(reduce_scatter_sum(comm, values, shards));
    EXPECT_ANY_THROW(allgather_shards(comm, values, shards));
  }
  EXPECT_ANY_THROW(Shards(10, 0, 8));
}

}  // namespace
}  // namespace aepipe::mpi
