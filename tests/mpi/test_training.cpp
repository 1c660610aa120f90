// Data-parallel training: the sample order and the trained parameters do not depend on the
// rank count (DESIGN rule 5), and a run stopped by a signal and resumed from its checkpoint
// ends exactly where an uninterrupted run does.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <set>

#include "data/data_file_writer.hpp"
#include "data/training_stream.hpp"
#include "mpi/agreement.hpp"
#include "mpi/shared_scratch.hpp"
#include "nn/model_file.hpp"
#include "nn/trainer.hpp"
#include "util/atomic_output.hpp"
#include "util/stop_signal.hpp"

namespace aepipe::nn {
namespace {

constexpr data::ImageShape kShape{4, 4, 1};
constexpr std::int64_t kRows = 700;

// A data file of kRows smooth random 4x4 images, written by every rank of `comm`.
void write_dataset(const std::string& path, const mpi::Communicator& comm) {
  check_output_path(path, {}, true, comm);
  data::DataFileWriter writer(comm, path, {kShape, false, false, 1, 1024});  // 64-row chunks
  data::RowBatch batch;
  if (comm.is_root()) {
    std::mt19937 generator(7);
    std::uniform_int_distribution<int> level(0, 255);
    for (std::int64_t i = 0; i < kRows; ++i) {
      const int base = level(generator);
      for (int p = 0; p < 16; ++p)
        batch.pixels.push_back(static_cast<std::uint8_t>((base + p * level(generator) / 16) % 256));
      batch.labels.push_back(-1);
      batch.names.push_back(std::to_string(i));
    }
  }
  writer.append(batch);
  writer.finish({});
}

TEST(TrainingStream, EveryTrainingRowOncePerEpochSplitAcrossRanks) {
  mpi::Communicator comm;
  testing::SharedScratch dir(comm);
  const std::string path = dir.path("rows.h5");
  write_dataset(path, comm);
  const data::DataFileReader reader(path);
  const data::RowSplit split{reader.rows(), reader.chunk_rows(), 0.1, 3};
  // Window of 2 chunks: the stream must cross windows.
  data::TrainingStream stream(reader, split, 2, 50, comm.rank(), comm.size());
  stream.start_epoch(4);
  std::vector<std::uint8_t> pixels;
  std::vector<std::int64_t> rows;
  std::vector<std::int64_t> mine;
  std::int64_t batches = 0;
  while (stream.next(pixels, rows) > 0) {
    ++batches;
    mine.insert(mine.end(), rows.begin(), rows.end());
    std::vector<std::uint8_t> expected(16);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      reader.read_images(rows[i], 1, expected.data());
      ASSERT_TRUE(
          std::equal(expected.begin(), expected.end(), pixels.begin() + static_cast<long>(16 * i)));
    }
  }
  EXPECT_EQ(batches, stream.steps_per_epoch());
  // Gather every rank's rows on all ranks via rank-ordered gather then broadcast.
  std::string packed(reinterpret_cast<const char*>(mine.data()),
                     mine.size() * sizeof(std::int64_t));
  auto all = comm.gather_bytes(packed, 0);
  std::string joined(all.begin(), all.end());
  comm.broadcast(joined, 0);
  std::set<std::int64_t> seen;
  for (std::size_t at = 0; at < joined.size(); at += sizeof(std::int64_t)) {
    std::int64_t row = 0;
    std::memcpy(&row, joined.data() + at, sizeof row);
    EXPECT_FALSE(split.is_validation(row));
    EXPECT_TRUE(seen.insert(row).second) << "row " << row << " visited twice";
  }
  EXPECT_EQ(static_cast<std::int64_t>(seen.size()), data::training_rows(split));
  EXPECT_GT(kRows - static_cast<std::int64_t>(seen.size()), 30);  // ~10% held out
  EXPECT_LE(stream.peak_window_bytes(), 2 * 2 * 64 * 16);
}

struct TrainedRun {
  std::vector<float> parameters;
  History history;
};

Objective kl_objective() {
  Objective objective;
  objective.sparsity = Sparsity::kKl;
  objective.rho = 0.2;
  objective.beta = 0.5;
  objective.weight_decay = 1e-3;
  return objective;
}

TrainingPhase phase_for(std::int64_t epochs, std::int64_t micro_batch = 8) {
  TrainingPhase phase;
  phase.name = "test";
  phase.epochs = epochs;
  phase.global_batch = 48;          // 630 training rows: the last batch is short
  phase.micro_batch = micro_batch;  // 8: six pieces, summed exactly; 24: two, in float
  phase.schedule.lr = 3e-3;
  phase.schedule.warmup_steps = 3;
  phase.noise = parse_noise("mask:0.2");
  phase.seed = 11;
  return phase;
}

// Pixels / 255 in, images of kShape.
ModelInfo unit_model_info() {
  ModelInfo info;
  info.shape = kShape;
  info.normalisation.mean = Eigen::VectorXf::Zero(16);
  info.normalisation.scale = Eigen::VectorXf::Ones(16);
  return info;
}

TrainedRun train(const std::string& path, const mpi::Communicator& comm, std::int64_t epochs,
                 const CheckpointPolicy& policy = {}, bool resume = false, bool stop_first = false,
                 std::int64_t micro_batch = 8) {
  const data::DataFileReader reader(path);
  const data::RowSplit split{reader.rows(), reader.chunk_rows(), 0.1, 5};
  const MetricsLog quiet("", false);
  Trainer trainer(comm, reader, split, 3, unit_model_info(), false, quiet);
  Autoencoder<float> network(
      parse_architecture("16-12-6", {Activation::kTanh, Activation::kSigmoid, Activation::kSigmoid},
                         false),
      kl_objective());
  network.initialize(9);
  std::optional<TrainingState> state;
  TrainedRun run;
  if (resume) {
    LoadedModel loaded = read_model(policy.path);
    std::copy(loaded.network->parameters().begin(), loaded.network->parameters().end(),
              network.parameters().begin());
    state = loaded.state;
    run.history = loaded.info.history;
  }
  if (stop_first) request_stop();
  const bool finished =
      trainer.run(network, phase_for(epochs, micro_batch), state, policy, run.history);
  clear_stop();
  EXPECT_EQ(finished, !stop_first);
  run.parameters.assign(network.parameters().begin(), network.parameters().end());
  return run;
}

double max_relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double largest = 0, difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    largest = std::max(largest, static_cast<double>(std::abs(a[i])));
    difference = std::max(difference, static_cast<double>(std::abs(a[i] - b[i])));
  }
  return difference / largest;
}

// Micro-batches are the same for every rank count and their gradients are summed exactly
// (or, with two pieces, rounded once), so P ranks reproduce one rank bit for bit.
TEST(Training, ParametersDoNotDependOnTheRankCount) {
  mpi::Communicator comm;
  testing::SharedScratch dir(comm);
  const std::string path = dir.path("train.h5");
  write_dataset(path, comm);
  for (std::int64_t micro_batch : {8, 24}) {
    const TrainedRun parallel = train(path, comm, 2, {}, false, false, micro_batch);
    // The reference: rank 0 alone, on a communicator of its own.
    MPI_Comm alone_handle;
    MPI_Comm_split(comm.get(), comm.is_root() ? 0 : MPI_UNDEFINED, 0, &alone_handle);
    if (comm.is_root()) {
      {
        mpi::Communicator alone(alone_handle);
        const TrainedRun serial = train(path, alone, 2, {}, false, false, micro_batch);
        EXPECT_EQ(serial.parameters, parallel.parameters)
            << comm.size() << " ranks vs 1, micro-batch " << micro_batch
            << ": max relative difference "
            << max_relative_difference(serial.parameters, parallel.parameters);
        // Validation sums over chunks are grouped by rank: equal up to double rounding.
        EXPECT_NEAR(serial.history.validation_loss.back(), parallel.history.validation_loss.back(),
                    1e-12 * std::abs(serial.history.validation_loss.back()));
      }
      MPI_Comm_free(&alone_handle);
    }
    // Training reduced the loss.
    EXPECT_LT(parallel.history.validation_loss.back(), parallel.history.validation_loss.front());
  }
}

TEST(Training, StopAndResumeEndsWhereAnUninterruptedRunEnds) {
  mpi::Communicator comm;
  testing::SharedScratch dir(comm);
  const std::string path = dir.path("resume.h5");
  write_dataset(path, comm);
  const TrainedRun straight = train(path, comm, 3);
  const CheckpointPolicy policy{dir.path("model.h5.checkpoint"), 4};
  train(path, comm, 3, policy, false, /*stop_first=*/true);  // stops after one step
  ASSERT_TRUE(std::filesystem::exists(policy.path));
  const TrainedRun resumed = train(path, comm, 3, policy, /*resume=*/true);
  EXPECT_EQ(resumed.parameters, straight.parameters);  // bit for bit, same rank count
  EXPECT_EQ(resumed.history.train_loss.size(), 3u);
}

TEST(Training, DivergenceStopsEveryRankNamingTheStep) {
  mpi::Communicator comm;
  testing::SharedScratch dir(comm);
  const std::string path = dir.path("diverge.h5");
  write_dataset(path, comm);
  const data::DataFileReader reader(path);
  const data::RowSplit split{reader.rows(), reader.chunk_rows(), 0.0, 5};
  const MetricsLog quiet("", false);
  Trainer trainer(comm, reader, split, 3, unit_model_info(), false, quiet);
  Autoencoder<float> network(
      parse_architecture("16-8", {Activation::kRelu, Activation::kRelu, Activation::kLinear},
                         false),
      {});
  network.initialize(1);
  TrainingPhase phase = phase_for(2);
  phase.noise = {};
  phase.optimizer = Optimizer::Kind::kSgd;
  phase.schedule.lr = 1e6;  // explodes within a few steps
  History history;
  try {
    trainer.run(network, phase, std::nullopt, {}, history);
    FAIL() << "a run with lr 1e6 did not diverge";
  } catch (const mpi::RankError& error) {
    EXPECT_NE(std::string(error.what()).find("diverged"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("step"), std::string::npos);
  }
}

}  // namespace
}  // namespace aepipe::nn
