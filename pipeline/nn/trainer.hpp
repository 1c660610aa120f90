#pragma once
// The data-parallel training loop (DESIGN "Training, in short"): every rank streams its
// share (whole micro-batches) of each global batch, computes each micro-batch's gradient,
// sums them exactly, one MPI_Allreduce combines the ranks (plus a small one for the global
// mean code activation when the KL term needs it), and every rank takes the same optimiser
// step. Training from these gradients is chaotic - float rounding differences grow to
// percent-level parameter differences within an epoch of a deep ReLU network - so the sums
// are exact and the GEMMs independent of the thread count: P ranks reproduce one rank bit
// for bit.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "data/data_file_reader.hpp"
#include "data/epoch_order.hpp"
#include "mpi/communicator.hpp"
#include "mpi/shards.hpp"
#include "nn/autoencoder.hpp"
#include "nn/model_file.hpp"
#include "nn/noise.hpp"
#include "nn/normalisation.hpp"
#include "nn/optimizer.hpp"
#include "util/metrics.hpp"

namespace aepipe::nn {

struct TrainingPhase {
  std::string name;  // "train", "pretrain layer 1", ... for progress lines
  std::int64_t epochs = 1;
  std::int64_t global_batch = 128;
  // Gradients are computed per micro-batch of this many rows and summed exactly
  // (mpi/exact_sum.hpp), so the result never depends on the rank count.
  std::int64_t micro_batch = 64;
  Schedule schedule;  // total_steps filled in by the trainer
  Optimizer::Kind optimizer = Optimizer::Kind::kAdam;
  double momentum = 0.9;
  Noise noise;
  // Width of the uniform noise added to the code (nn/noise.hpp) while training; 0: none.
  double code_noise = 0.0;
  std::uint64_t seed = 1;
  std::int64_t epoch_offset = 0;  // keeps the phases' sample orders apart
  // Maps a normalised batch [D, b] to this phase's network input (stacked pretraining: the
  // codes of the layers trained before). Empty: identity.
  std::function<void(Eigen::MatrixXf&)> transform;
};

struct CheckpointPolicy {
  std::string path;              // "" disables checkpoints
  std::int64_t every_steps = 0;  // 0: only at the end of each epoch
};

class Trainer {
 public:
  Trainer(const mpi::Communicator& comm, const data::DataFileReader& reader,
          const data::RowSplit& split, std::int64_t window_chunks, const ModelInfo& info,
          bool show_progress, const MetricsLog& metrics);

  // Trains `network` for the phase. `resume` continues from a checkpoint's state. Writes
  // checkpoints per `policy` (with `info` and the history so far). Throws RankError on every
  // rank if the loss becomes NaN/Inf (naming the step); returns false if a stop signal
  // arrived (a checkpoint was written first when the policy allows).
  bool run(Autoencoder<float>& network, const TrainingPhase& phase,
           const std::optional<TrainingState>& resume, const CheckpointPolicy& policy,
           History& history);

  // Mean per-sample squared error in pixel units and the mean reconstruction loss over the
  // selected rows (collective).
  struct Evaluation {
    double sse_per_image = 0;
    double loss = 0;
    double rows = 0;
  };
  Evaluation evaluate(Autoencoder<float>& network, bool validation_rows,
                      const std::function<void(Eigen::MatrixXf&)>& transform);

 private:
  // Collective. Gathers the optimiser state's slices (each rank updates only its own,
  // mpi/shards.hpp) before rank 0 writes it whole.
  void write_checkpoint(Autoencoder<float>& network, Optimizer& optimizer,
                        const mpi::Shards& shards, const TrainingState& state,
                        const CheckpointPolicy& policy, const History& history);

  const mpi::Communicator& comm_;
  const data::DataFileReader& reader_;
  data::RowSplit split_;
  std::int64_t window_chunks_;
  ModelInfo info_;
  bool show_progress_;
  const MetricsLog& metrics_;
};

}  // namespace aepipe::nn
