#include <gtest/gtest.h>

#include <numeric>

#include "mpi/agreement.hpp"
#include "mpi/communicator.hpp"

namespace aepipe::mpi {
namespace {

TEST(Communicator, ReductionsOverSpansScalarsAndEigen) {
  Communicator comm;
  const int p = comm.size(), r = comm.rank();
  std::vector<double> values{1.0 * r, 2.0, -1.0 * r};
  comm.allreduce_sum(std::span(values));
  EXPECT_DOUBLE_EQ(values[0], p * (p - 1) / 2.0);
  EXPECT_DOUBLE_EQ(values[1], 2.0 * p);
  EXPECT_EQ(comm.allreduce_max(r), p - 1);
  EXPECT_EQ(comm.allreduce_min(r + 5), 5);
  EXPECT_EQ(comm.allreduce_sum(std::int64_t{1} << 40), (std::int64_t{1} << 40) * p);

  Eigen::MatrixXf matrix = Eigen::MatrixXf::Constant(3, 4, static_cast<float>(r + 1));
  comm.allreduce_sum(matrix);
  EXPECT_FLOAT_EQ(matrix(2, 3), static_cast<float>(p * (p + 1) / 2));
}

TEST(Communicator, ExclusivePrefixSums) {
  Communicator comm;
  const std::int64_t mine = 10 + comm.rank();
  std::int64_t expected = 0;
  for (int q = 0; q < comm.rank(); ++q) expected += 10 + q;
  EXPECT_EQ(comm.exscan_sum(mine), expected);
}

TEST(Communicator, BroadcastsOfStringsListsAndEigen) {
  Communicator comm;
  const int root = comm.size() - 1;
  std::string text = comm.rank() == root ? "from the last rank" : "";
  comm.broadcast(text, root);
  EXPECT_EQ(text, "from the last rank");
  std::vector<std::string> list;
  if (comm.is_root()) list = {"", "a", std::string(100000, 'x')};
  comm.broadcast(list, 0);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0], "");
  EXPECT_EQ(list[2].size(), 100000u);
  Eigen::VectorXd vector = Eigen::VectorXd::Constant(5, comm.rank());
  comm.broadcast(vector, root);
  EXPECT_EQ(vector(4), root);
}

TEST(Communicator, GatherBytesConcatenatesInRankOrderIncludingEmptyRanks) {
  Communicator comm;
  // Rank r contributes r copies of the letter 'a' + r.
  const std::string mine(static_cast<size_t>(comm.rank()), static_cast<char>('a' + comm.rank()));
  const auto all = comm.gather_bytes(mine, 0);
  if (comm.is_root()) {
    std::string expected;
    for (int q = 0; q < comm.size(); ++q)
      expected += std::string(static_cast<size_t>(q), static_cast<char>('a' + q));
    EXPECT_EQ(std::string(all.begin(), all.end()), expected);
  } else {
    EXPECT_TRUE(all.empty());
  }
}

TEST(Communicator, MoveTransfersOwnership) {
  Communicator first;
  Communicator second(std::move(first));
  EXPECT_EQ(second.allreduce_sum(1), second.size());
  EXPECT_EQ(first.get(), MPI_COMM_NULL);
}

TEST(Agreement, NoFailureReturnsTheResult) {
  Communicator comm;
  EXPECT_EQ(collectively(comm, [&] { return comm.rank() * 2; }), comm.rank() * 2);
}

TEST(Agreement, OneFailingRankEndsTheStepOnEveryRankWithItsMessage) {
  Communicator comm;
  const int failing = comm.size() - 1;
  try {
    collectively(comm, [&] {
      if (comm.rank() == failing) throw Error("bad pixel in photo.png");
    });
    FAIL() << "no RankError on rank " << comm.rank();
  } catch (const RankError& error) {
    EXPECT_EQ(std::string(error.what()), "bad pixel in photo.png");
    EXPECT_EQ(error.rank(), failing);
    EXPECT_EQ(error.exit_code(), kExitFailure);
  }
  // The communicator is still usable afterwards: nobody was left inside a collective.
  EXPECT_EQ(comm.allreduce_sum(1), comm.size());
}

TEST(Agreement, TheLowestFailingRankWinsAndKeepsItsExitCode) {
  Communicator comm;
  try {
    collectively(comm, [&] {
      if (comm.rank() % 2 == 1 || comm.size() == 1)
        throw UsageError("bad key on rank " + std::to_string(comm.rank()));
      if (comm.rank() == 2) throw std::runtime_error("other failure");
    });
    FAIL();
  } catch (const RankError& error) {
    const int expected = comm.size() == 1 ? 0 : 1;
    EXPECT_EQ(error.rank(), expected);
    EXPECT_EQ(std::string(error.what()), "bad key on rank " + std::to_string(expected));
    EXPECT_EQ(error.exit_code(), kExitUsage);
  }
}

TEST(Agreement, NestedAgreementsKeepTheOriginalRank) {
  Communicator comm;
  const int failing = comm.size() - 1;
  try {
    collectively(comm, [&] {
      collectively(comm, [&] {
        if (comm.rank() == failing) throw Error("inner");
      });
    });
    FAIL();
  } catch (const RankError& error) {
    EXPECT_EQ(error.rank(), failing);
  }
}

}  // namespace
}  // namespace aepipe::mpi
