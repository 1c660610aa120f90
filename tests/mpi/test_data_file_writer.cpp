// The data file writer: rows from every rank land in global order (rank-major per round),
// with names, tiles and sources; failures leave no file behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data/data_file_writer.hpp"
#include "h5/attribute.hpp"
#include "h5/format.hpp"
#include "h5/strings.hpp"
#include "mpi/agreement.hpp"
#include "mpi/shared_scratch.hpp"
#include "util/atomic_output.hpp"

namespace aepipe::data {
namespace {

namespace fs = std::filesystem;

constexpr ImageShape kShape{2, 3, 1};

// Rank r in round t contributes (r + t) % 3 images, each one tiled source of 1 row.
RowBatch batch_for(int rank, int round, std::int64_t& global_counter, int size) {
  RowBatch batch;
  // Every rank advances the same counter so rows are numbered globally.
  for (int q = 0; q < size; ++q) {
    const int rows = (q + round) % 3;
    for (int i = 0; i < rows; ++i) {
      const std::int64_t id = global_counter++;
      if (q != rank) continue;
      batch.pixels.insert(batch.pixels.end(), kShape.bytes(), static_cast<std::uint8_t>(id % 256));
      batch.labels.push_back(static_cast<std::int32_t>(id));
      batch.names.push_back("row " + std::to_string(id));
      batch.tiles.insert(batch.tiles.end(),
                         {static_cast<std::int64_t>(batch.sources.size()), id, 0, 0});
      batch.sources.push_back({"source " + std::to_string(id), id + 1, 2 * id + 1});
    }
  }
  return batch;
}

bool has_temporaries(const fs::path& folder) {
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.path().filename().string().find("aepipe-tmp") != std::string::npos) return true;
  return false;
}

TEST(DataFileWriter, RowsNamesAndSourcesInGlobalOrder) {
  mpi::Communicator comm;
  testing::SharedScratch dir(comm);
  const std::string output = dir.path("out.h5");
  check_output_path(output, {}, false, comm);
  std::int64_t counter = 0;
  {
    DataFileWriter writer(comm, output, {kShape, true, true, 3, 64});
    for (int round = 0; round < 5; ++round) {
      RowBatch batch = batch_for(comm.rank(), round, counter, comm.size());
      writer.append(batch);
    }
    EXPECT_EQ(writer.rows(), counter);
    writer.finish({{"zero", "one"}, "test input", 2});
  }
  comm.barrier();
  if (comm.is_root()) {
    ASSERT_TRUE(fs::exists(output));
    EXPECT_FALSE(has_temporaries(dir.root()));
    h5::File file = h5::File::open(output, h5::File::Mode::kReadOnly, nullptr);
    EXPECT_EQ(h5::require_format(file, "data", 1).version, 1);
    EXPECT_EQ(h5::read_int_attribute(file.id(), "rows", output), counter);
    EXPECT_EQ(h5::read_int_attribute(file.id(), "skipped_inputs", output), 2);
    EXPECT_EQ(h5::read_int_attribute(file.id(), "width", output), 3);
    h5::Dataset images = h5::Dataset::open(file, "/images");
    EXPECT_EQ(images.dims(), (std::vector<hsize_t>{static_cast<hsize_t>(counter), 2, 3, 1}));
    std::vector<std::uint8_t> pixels(static_cast<size_t>(counter) * kShape.bytes());
    images.read_rows(0, static_cast<hsize_t>(counter), pixels.data());
    std::vector<std::int32_t> labels(static_cast<size_t>(counter));
    h5::Dataset::open(file, "/labels").read_rows(0, static_cast<hsize_t>(counter), labels.data());
    std::vector<std::int64_t> tiles(static_cast<size_t>(counter) * 4);
    h5::Dataset::open(file, "/tiles").read_rows(0, static_cast<hsize_t>(counter), tiles.data());
    const auto names =
        h5::read_strings(h5::Dataset::open(file, "/names"), 0, static_cast<hsize_t>(counter));
    for (std::int64_t id = 0; id < counter; ++id) {
      EXPECT_EQ(labels[static_cast<size_t>(id)], id);
      EXPECT_EQ(pixels[static_cast<size_t>(id) * kShape.bytes()], id % 256);
      EXPECT_EQ(names[static_cast<size_t>(id)], "row " + std::to_string(id));
      EXPECT_EQ(tiles[static_cast<size_t>(id) * 4], id) << "source index of row " << id;
      EXPECT_EQ(tiles[static_cast<size_t>(id) * 4 + 1], id);
    }
    const auto classes = h5::read_strings(h5::Dataset::open(file, "/classes"), 0, 2);
    EXPECT_EQ(classes, (std::vector<std::string>{"zero", "one"}));
    EXPECT_EQ(h5::Dataset::open(file, "/sources").rows(), static_cast<hsize_t>(counter));
  }
}

TEST(DataFileWriter, AnAgreedFailureLeavesNoFileBehind) {
  mpi::Communicator comm;
  testing::SharedScratch dir(comm);
  const std::string output = dir.path("failed.h5");
  EXPECT_THROW(
      {
        DataFileWriter writer(comm, output, {kShape, false, false, 1, 64});
        std::int64_t counter = 0;
        RowBatch batch = batch_for(comm.rank(), 1, counter, comm.size());
        writer.append(batch);
        mpi::collectively(comm, [&] {
          if (comm.rank() == comm.size() - 1) throw Error("decode failed");
        });
        writer.finish({});
      },
      mpi::RankError);
  comm.barrier();
  if (comm.is_root()) {
    EXPECT_FALSE(fs::exists(output));
    EXPECT_FALSE(has_temporaries(dir.root()));
  }
}

TEST(DataFileWriter, ExistingOutputsNeedForceAndInputsAreProtected) {
  mpi::Communicator comm;
  testing::SharedScratch dir(comm);
  const std::string output = dir.path("exists.h5");
  if (comm.is_root()) std::ofstream(output) << "old";
  comm.barrier();
  EXPECT_THROW(check_output_path(output, {}, false, comm), mpi::RankError);
  EXPECT_NO_THROW(check_output_path(output, {}, true, comm));
  EXPECT_THROW(check_output_path(output, {output}, true, comm), mpi::RankError);
  EXPECT_THROW(check_output_path(dir.path("no/such/folder/x.h5"), {}, true, comm), mpi::RankError);
}

}  // namespace
}  // namespace aepipe::data
