// mpi::ExactSum: the same bits whatever the order of the pieces and however they are split
// over ranks (the training's rank-count independence rests on it), for sizes that do and do
// not fill its blocks of 8.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "mpi/communicator.hpp"
#include "mpi/exact_sum.hpp"
#include "mpi/shards.hpp"

namespace aepipe::mpi {
namespace {

// Piece k of `size` floats spanning ~2^-60 .. 2^60 with both signs, so float or double sums
// would depend on the order.
std::vector<float> piece(std::size_t k, std::size_t size) {
  std::vector<float> values(size);
  std::uint64_t state = 0x9E3779B97F4A7C15ull * (k + 1);
  for (auto& value : values) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const int exponent = static_cast<int>((state >> 33) % 121) - 60;
    const float mantissa = static_cast<float>((state >> 40) % 65536) / 65536.0f + 0.5f;
    value = std::ldexp((state >> 20) & 1 ? -mantissa : mantissa, exponent);
  }
  return values;
}

std::vector<std::uint32_t> bits_of(const ExactSum& sum) {
  std::vector<float> rounded(sum.size());
  sum.round_to(rounded);
  std::vector<std::uint32_t> bits;
  for (float value : rounded) bits.push_back(std::bit_cast<std::uint32_t>(value));
  return bits;
}

TEST(ExactSum, SplitOverRanksEqualsOneProcessInAnyOrder) {
  Communicator comm;
  constexpr std::size_t kPieces = 7;
  for (std::size_t size :
       {std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{9}, std::size_t{1003}}) {
    // Reference: one process, pieces in reverse order, from zeros.
    ExactSum reference;
    reference.reset(size);
    for (std::size_t k = kPieces; k-- > 0;) reference.add(piece(k, size));

    // This rank's pieces (round robin), its first one assigned, then the allreduce.
    ExactSum split;
    bool first = true;
    for (std::size_t k = static_cast<std::size_t>(comm.rank()); k < kPieces;
         k += static_cast<std::size_t>(comm.size())) {
      if (first)
        split.assign(piece(k, size));
      else
        split.add(piece(k, size));
      first = false;
    }
    if (first) split.reset(size);  // no piece on this rank
    split.allreduce(comm);
    ASSERT_EQ(split.size(), size);
    EXPECT_EQ(bits_of(split), bits_of(reference)) << "size " << size;
    for (std::size_t i = 0; i < size; ++i)
      ASSERT_EQ(split.value(i), reference.value(i)) << "size " << size << ", element " << i;
  }
}

// Staged terms (stage(): summed kMaxStaged at a time, or rounded straight from the stage)
// give the bits add() gives, in any order, mixed with add() and assign(), split over ranks;
// 150001 elements take three of allreduce_round_to's pieces (the last block part full).
TEST(ExactSum, StagedTermsEqualAddedTerms) {
  Communicator comm;
  for (std::size_t pieces : {std::size_t{1}, std::size_t{2}, std::size_t{5}, ExactSum::kMaxStaged,
                             ExactSum::kMaxStaged + 1, std::size_t{19}}) {
    for (std::size_t size : {std::size_t{1}, std::size_t{8}, std::size_t{13}, std::size_t{1003},
                             std::size_t{150001}}) {
      ExactSum reference;
      reference.reset(size);
      for (std::size_t k = 0; k < pieces; ++k) reference.add(piece(k, size));
      const auto context = ::testing::Message() << pieces << " pieces of " << size;

      // Every piece staged, in reverse order, on one process: rounded from the stage (or
      // from the pairs and the stage past kMaxStaged).
      ExactSum staged;
      staged.reset(size);
      for (std::size_t k = pieces; k-- > 0;) {
        const auto values = piece(k, size);
        std::ranges::copy(values, staged.stage().begin());
      }
      EXPECT_EQ(bits_of(staged), bits_of(reference)) << context;
      for (std::size_t i = 0; i < size; ++i)
        ASSERT_EQ(staged.value(i), reference.value(i)) << context << ", element " << i;

      // Odd pieces added, even ones staged, the first assigned; this rank's share, allreduced.
      ExactSum mixed;
      mixed.reset(size);
      bool first = true;
      for (std::size_t k = static_cast<std::size_t>(comm.rank()); k < pieces;
           k += static_cast<std::size_t>(comm.size())) {
        const auto values = piece(k, size);
        if (first)
          mixed.assign(values);
        else if (k % 2 == 1)
          mixed.add(values);
        else
          std::ranges::copy(values, mixed.stage().begin());
        first = false;
      }
      // Rounded piece by piece while allreduced (this rank's own sum stays), then allreduced.
      std::vector<float> rounded(size);
      mixed.allreduce_round_to(comm, rounded, 0.5);
      std::vector<float> expected(size);
      reference.round_to(expected, 0.5);
      for (std::size_t i = 0; i < size; ++i)
        ASSERT_EQ(std::bit_cast<std::uint32_t>(rounded[i]),
                  std::bit_cast<std::uint32_t>(expected[i]))
            << context << ", element " << i;
      // Only this rank's slice rounded (the sharded step); the rest of out left as it was.
      const Shards shards(size, comm.size(), ExactSum::kBlock);
      std::vector<float> slice(size, 12345.0f);
      mixed.reduce_scatter_round_to(comm, slice, shards, 0.5);
      for (std::size_t i = 0; i < size; ++i) {
        const bool own = i >= shards.begin(comm.rank()) && i < shards.end(comm.rank());
        ASSERT_EQ(std::bit_cast<std::uint32_t>(slice[i]),
                  std::bit_cast<std::uint32_t>(own ? expected[i] : 12345.0f))
            << context << ", element " << i << (own ? " (own slice)" : " (not own)");
      }
      // This rank's pieces staged only: up to kMaxStaged in all, the ranks exchange the
      // terms themselves; past that (or past kMaxStaged on a rank, which folds) the pairs.
      ExactSum staged_only;
      staged_only.reset(size);
      for (std::size_t k = static_cast<std::size_t>(comm.rank()); k < pieces;
           k += static_cast<std::size_t>(comm.size()))
        std::ranges::copy(piece(k, size), staged_only.stage().begin());
      std::vector<float> from_terms(size, -7.0f);
      staged_only.reduce_scatter_round_to(comm, from_terms, shards, 0.5);
      for (std::size_t i = 0; i < size; ++i) {
        const bool own = i >= shards.begin(comm.rank()) && i < shards.end(comm.rank());
        ASSERT_EQ(std::bit_cast<std::uint32_t>(from_terms[i]),
                  std::bit_cast<std::uint32_t>(own ? expected[i] : -7.0f))
            << context << " staged only, element " << i;
      }
      // Its own sum is unchanged: exchanged again, the same slice.
      std::vector<float> again(size, -7.0f);
      staged_only.reduce_scatter_round_to(comm, again, shards, 0.5);
      EXPECT_EQ(again, from_terms) << context;
      mixed.allreduce(comm);
      EXPECT_EQ(bits_of(mixed), bits_of(reference)) << context;
    }
  }
}

// Rounding and folding are split among the compute threads for long sums: same bits.
TEST(ExactSum, ThreadsDoNotChangeTheBits) {
  const int threads = omp_get_max_threads();
  constexpr std::size_t kSize = 200003;
  std::vector<std::vector<std::uint32_t>> rounded, folded;
  for (int count : {1, 2, 3}) {
    omp_set_num_threads(count);
    ExactSum sum;
    sum.reset(kSize);
    for (std::size_t k = 0; k < 3; ++k) std::ranges::copy(piece(k, kSize), sum.stage().begin());
    rounded.push_back(bits_of(sum));  // straight from the stage
    for (std::size_t k = 3; k < ExactSum::kMaxStaged + 4; ++k)
      std::ranges::copy(piece(k, kSize), sum.stage().begin());  // folds once on the way
    folded.push_back(bits_of(sum));
  }
  omp_set_num_threads(threads);
  EXPECT_EQ(rounded[1], rounded[0]);
  EXPECT_EQ(rounded[2], rounded[0]);
  EXPECT_EQ(folded[1], folded[0]);
  EXPECT_EQ(folded[2], folded[0]);
  EXPECT_NE(folded[0], rounded[0]);
}

TEST(ExactSum, ResetIsZeroWithoutWriting) {
  ExactSum sum;
  sum.assign(std::vector<float>{1.0f, 2.0f, 3.0f});
  sum.reset(3);
  EXPECT_EQ(sum.value(1), 0.0);
  std::vector<float> rounded(3, 7.0f);
  sum.round_to(rounded);
  EXPECT_EQ(rounded, std::vector<float>(3, 0.0f));
  std::ranges::copy(std::vector<float>{-0.0f, 5.0f, 1e30f}, sum.stage().begin());
  sum.round_to(rounded);
  EXPECT_EQ(rounded, (std::vector<float>{0.0f, 5.0f, 1e30f}));
  EXPECT_FALSE(std::signbit(rounded[0]));  // 0 + -0, as add() from zero
}

TEST(ExactSum, KeepsWhatAFloatSumLoses) {
  ExactSum sum;
  sum.assign(std::vector<float>{1e20f, 1.0f, 3.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, -2.5f});
  sum.add(std::vector<float>{1.0f, 1e-20f, -3.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1e30f});
  sum.add(std::vector<float>{-1e20f, -1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, -1e30f});
  EXPECT_EQ(sum.value(0), 1.0);     // 1e20 + 1 - 1e20
  EXPECT_EQ(sum.value(1), 1e-20f);  // 1 + 1e-20 - 1
  EXPECT_EQ(sum.value(2), 0.0);
  EXPECT_EQ(sum.value(9), -2.5);  // past the first block of 8
  std::vector<float> rounded(10);
  sum.round_to(rounded, 2.0);
  EXPECT_EQ(rounded[9], -5.0f);
  EXPECT_FALSE(std::signbit(rounded[3]));
}

}  // namespace
}  // namespace aepipe::mpi
