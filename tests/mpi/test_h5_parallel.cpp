// Collective writes of chunked, deflate-compressed datasets from any number of ranks, with
// uneven and empty shares, read back identically.
#include <gtest/gtest.h>

#include "h5/attribute.hpp"
#include "h5/dataset.hpp"
#include "h5/format.hpp"
#include "mpi/agreement.hpp"
#include "mpi/shared_scratch.hpp"

namespace aepipe::h5 {
namespace {

// Row i holds values i*10 + column.
std::vector<std::int32_t> rows_of(std::int64_t first, std::int64_t count, int columns) {
  std::vector<std::int32_t> values(static_cast<size_t>(count * columns));
  for (std::int64_t i = 0; i < count; ++i)
    for (int c = 0; c < columns; ++c)
      values[static_cast<size_t>(i * columns + c)] =
          static_cast<std::int32_t>((first + i) * 10 + c);
  return values;
}

TEST(H5Parallel, UnevenCollectiveRoundsIncludingEmptyRanks) {
  mpi::Communicator comm;
  testing::SharedScratch dir(comm);
  const std::string path = dir.path("rounds.h5");
  constexpr int kColumns = 5;
  std::int64_t total = 0;
  {
    File file = File::create(path, &comm);
    // Chunks of 3 rows straddle rank boundaries in every round.
    Dataset data = Dataset::create(file, "/values", H5T_STD_I32LE, 0, {kColumns}, {3, 6, true});
    for (int round = 0; round < 4; ++round) {
      // Rank r writes (r + round) % 3 rows: some ranks write nothing in some rounds.
      const std::int64_t mine = (comm.rank() + round) % 3;
      const std::int64_t first = total + comm.exscan_sum(mine);
      total += comm.allreduce_sum(mine);
      data.set_rows(static_cast<hsize_t>(total));
      const auto values = rows_of(first, mine, kColumns);
      data.write_rows(static_cast<hsize_t>(first), static_cast<hsize_t>(mine), values.data());
    }
    write_format_tag(file, {"test", 1});
    data = Dataset::open(file, "/values");  // closes the first handle
  }
  File file = File::open(path, File::Mode::kReadOnly, &comm);
  Dataset data = Dataset::open(file, "/values");
  ASSERT_EQ(data.rows(), static_cast<hsize_t>(total));
  // Each rank reads a different slice, independently.
  const std::int64_t first = total * comm.rank() / comm.size();
  const std::int64_t count = total * (comm.rank() + 1) / comm.size() - first;
  std::vector<std::int32_t> back(static_cast<size_t>(count * kColumns));
  data.read_rows(static_cast<hsize_t>(first), static_cast<hsize_t>(count), back.data());
  EXPECT_EQ(back, rows_of(first, count, kColumns));
  EXPECT_EQ(read_format_tag(file).kind, "test");
}

TEST(H5Parallel, CollectiveReadsWork) {
  mpi::Communicator comm;
  testing::SharedScratch dir(comm);
  const std::string path = dir.path("read.h5");
  {
    File file = File::create(path, &comm);
    Dataset data = Dataset::create(file, "/x", H5T_STD_I32LE, 8, {2}, {2, 1, false});
    const auto values = rows_of(0, comm.is_root() ? 8 : 0, 2);
    data.write_rows(0, comm.is_root() ? 8 : 0, values.data());
  }
  File file = File::open(path, File::Mode::kReadOnly, &comm);
  Dataset data = Dataset::open(file, "/x");
  data.set_collective_reads(true);
  std::vector<std::int32_t> back(16);
  data.read_rows(0, 8, back.data());
  EXPECT_EQ(back, rows_of(0, 8, 2));
}

TEST(H5Parallel, OpeningAMissingFileFailsOnEveryRankAlike) {
  mpi::Communicator comm;
  testing::SharedScratch dir(comm);
  try {
    mpi::collectively(comm,
                      [&] { File::open(dir.path("absent.h5"), File::Mode::kReadOnly, &comm); });
    FAIL();
  } catch (const mpi::RankError& error) {
    EXPECT_NE(std::string(error.what()).find("absent.h5"), std::string::npos);
  }
}

}  // namespace
}  // namespace aepipe::h5
