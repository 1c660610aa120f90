// DESIGN rule 5 for indexes: built on P ranks, an index (and its file) is the one built on a
// single rank, bit for bit.
#include <gtest/gtest.h>

#include <cstring>

#include "h5/dataset.hpp"
#include "index/index_file.hpp"
#include "index_test_support.hpp"
#include "mpi/shared_scratch.hpp"
#include "mpi_support.hpp"

namespace aepipe::index {
namespace {

using testing::my_slice;
using testing::random_rows;

// Every dataset of two index files holds the same bytes.
void expect_same_datasets(const std::string& a, const std::string& b,
                          const std::vector<std::string>& names) {
  const h5::File file_a = h5::File::open(a, h5::File::Mode::kReadOnly, nullptr);
  const h5::File file_b = h5::File::open(b, h5::File::Mode::kReadOnly, nullptr);
  for (const auto& name : names) {
    const h5::Dataset data_a = h5::Dataset::open(file_a, name),
                      data_b = h5::Dataset::open(file_b, name);
    ASSERT_EQ(data_a.dims(), data_b.dims()) << name;
    const std::size_t bytes = data_a.rows() * data_a.row_elements() * 8;
    std::vector<std::uint64_t> values_a(bytes / 8 + 1), values_b(bytes / 8 + 1);
    // Read as raw 8-byte words (float datasets as pairs of floats via their stored type size).
    const h5::Handle type(H5Dget_type(data_a.id()));
    data_a.read_rows_as(0, data_a.rows(), type.get(), values_a.data());
    data_b.read_rows_as(0, data_b.rows(), type.get(), values_b.data());
    EXPECT_EQ(values_a, values_b) << name;
  }
}

class BuildRanks : public ::testing::TestWithParam<const char*> {};

TEST_P(BuildRanks, IndexAndFileMatchASingleRankBuild) {
  const mpi::Communicator world, self(MPI_COMM_SELF);
  const aepipe::testing::SharedScratch scratch(world);
  const IndexSpec spec = parse_index_spec(GetParam());
  const RowMatrixXf database = random_rows(1203, 9, 5) + 0.3f * random_rows(1203, 9, 6).cwiseAbs2();
  BuildOptions options;
  options.seed = 3;
  options.max_points_per_list = 64;
  options.hash_training_rows = 500;
  const Index distributed = build_index(spec, my_slice(database, world), options, world);
  write_index(scratch.path("distributed.h5"), distributed, world);
  if (world.is_root()) {
    const Index alone = build_index(spec, database, options, self);
    write_index_file(scratch.path("alone.h5"), alone);
    std::vector<std::string> names;
    if (spec.kind == Kind::kFlat) names = {"/vectors", "/ids"};
    if (spec.kind == Kind::kIvf) names = {"/centroids", "/list_offsets", "/ids", "/vectors"};
    if (spec.kind == Kind::kHash) names = {"/bits", "/ids", "/mean", "/rotation"};
    expect_same_datasets(scratch.path("distributed.h5"), scratch.path("alone.h5"), names);
    const Index read = read_index_file(scratch.path("distributed.h5"));
    EXPECT_EQ(spec_of(read), spec);
    EXPECT_EQ(size_of(read), 1203);
  }
  world.barrier();
}

INSTANTIATE_TEST_SUITE_P(Specs, BuildRanks,
                         ::testing::Values("flat", "flat:cosine", "ivf:12", "ivf:6:ip", "hash:8",
                                           "hash:64", "hash:20:sign"));

}  // namespace
}  // namespace aepipe::index
