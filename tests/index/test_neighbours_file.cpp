#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>

#include "h5/attribute.hpp"
#include "h5/dataset.hpp"
#include "index/neighbours_file.hpp"
#include "mpi/communicator.hpp"
#include "util/error.hpp"

namespace aepipe::index {
namespace {

namespace fs = std::filesystem;

class NeighboursFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() / ("aepipe-neighbours-" + std::to_string(::getpid()));
    fs::create_directories(folder_);
  }
  void TearDown() override { fs::remove_all(folder_); }
  std::string path(const std::string& leaf) const { return (folder_ / leaf).string(); }

  // Q = 5 queries, k = 3: ids 10 q + j, distances q + j / 4, the last query's last missing.
  static Neighbours sample() {
    Neighbours found;
    found.resize(5, 3);
    for (Eigen::Index q = 0; q < 5; ++q)
      for (Eigen::Index j = 0; j < 3; ++j) {
        found.ids[q * 3 + j] = 10 * q + j;
        found.distances[q * 3 + j] = static_cast<float>(q) + static_cast<float>(j) / 4;
      }
    found.ids.back() = -1;
    found.distances.back() = std::numeric_limits<float>::infinity();
    return found;
  }

  // Writes sample() in two pieces (rows 0-1, then 2-4) as one rank would in two rounds.
  void write(const std::string& file, bool labels) {
    const mpi::Communicator self(MPI_COMM_SELF);
    NeighboursInfo info{5, 3, "index.h5", "queries.h5", "", "ivf:4:l2", Metric::kL2, 2};
    NeighboursWriter writer(self, file, info, labels);
    const Neighbours all = sample();
    for (const auto& [first, count] : {std::pair{0, 2}, std::pair{2, 3}}) {
      Neighbours part;
      part.resize(count, 3);
      std::copy_n(all.ids_of(first), count * 3, part.ids.begin());
      std::copy_n(all.distances_of(first), count * 3, part.distances.begin());
      std::vector<std::int32_t> query_labels(static_cast<std::size_t>(count));
      for (int i = 0; i < count; ++i) query_labels[i] = first + i + 100;
      writer.write(first, part, query_labels);
    }
    writer.finish();
  }

  fs::path folder_;
};

TEST_F(NeighboursFileTest, RoundTripsWithAndWithoutQueryLabels) {
  write(path("n.h5"), true);
  const NeighboursFile read = read_neighbours_file(path("n.h5"));
  EXPECT_EQ(read.info.rows, 5);
  EXPECT_EQ(read.info.k, 3);
  EXPECT_EQ(read.info.index, "index.h5");
  EXPECT_EQ(read.info.queries, "queries.h5");
  EXPECT_EQ(read.info.spec, "ivf:4:l2");
  EXPECT_EQ(read.info.metric, Metric::kL2);
  EXPECT_EQ(read.info.nprobe, 2);
  EXPECT_EQ(read.neighbours.ids, sample().ids);
  EXPECT_EQ(read.neighbours.distances, sample().distances);
  ASSERT_TRUE(read.query_labels.has_value());
  EXPECT_EQ(*read.query_labels, (std::vector<std::int32_t>{100, 101, 102, 103, 104}));
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder_))
    names.push_back(entry.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"n.h5"});

  write(path("plain.h5"), false);
  EXPECT_FALSE(read_neighbours_file(path("plain.h5")).query_labels.has_value());
}

TEST_F(NeighboursFileTest, DamagedFilesAreExplained) {
  const auto error_after = [&](const std::function<void(h5::File&)>& damage) -> std::string {
    const std::string file = path("damaged.h5");
    write(file, true);
    {
      h5::File opened = h5::File::open(file, h5::File::Mode::kReadWrite, nullptr);
      damage(opened);
      opened.close();
    }
    try {
      read_neighbours_file(file);
    } catch (const Error& error) {
      return error.what();
    }
    return "(no error)";
  };
  EXPECT_NE(error_after([](h5::File& f) {
              h5::write_attribute(f.id(), "aepipe_format", std::string("index"), f.path());
            }).find("expected a 'neighbours' file"),
            std::string::npos);
  EXPECT_NE(error_after([](h5::File& f) {
              h5::write_attribute(f.id(), "k", std::int64_t{4}, f.path());
            }).find("damaged.h5:/ids has shape [5, 3], expected [5, 4]"),
            std::string::npos);
  EXPECT_NE(error_after([](h5::File& f) {
              std::vector<std::int64_t> row{1, -7, 2};
              h5::Dataset::open(f, "/ids").write_rows(3, 1, row.data());
            }).find("damaged.h5:/ids row 3 column 1 holds -7"),
            std::string::npos);
  EXPECT_NE(error_after([](h5::File& f) {
              std::vector<float> row{1, 2, std::nanf("")};
              h5::Dataset::open(f, "/distances").write_rows(0, 1, row.data());
            }).find("damaged.h5:/distances row 0 column 2 is nan"),
            std::string::npos);
  EXPECT_NE(error_after([](h5::File& f) {
              h5::write_attribute(f.id(), "metric", std::string("manhattan"), f.path());
            }).find("unknown metric 'manhattan'"),
            std::string::npos);
}

}  // namespace
}  // namespace aepipe::index
