#pragma once
// The `model` file contract (DESIGN.md), version 1. Written by one process (rank 0).
//   root attributes  aepipe_format="model", aepipe_version=1, kind ("autoencoder" or "pca"),
//                    architecture (e.g. "784-1000:relu-30:linear"), output_activation, tied,
//                    loss, sparsity, rho, beta, k, weight_decay, height, width, channels,
//                    config (the full training configuration as text), checkpoint (0/1)
//   /encoder/<i>/W float32 [out, in], /encoder/<i>/b [out]     i = 0 is the input layer
//   /decoder/<i>/W float32 [out, in], /decoder/<i>/b [out]     (tied: W stored explicitly)
//   /normalisation/mean, /normalisation/scale float32 [D], attribute mode
//   /history/{train_loss, validation_loss, learning_rate, samples_per_s, seconds} float64
//            [epochs], per completed epoch
//   checkpoints add /optimizer/first, /optimizer/second float32 [parameters] and attributes
//   optimizer, optimizer_steps, epoch, step_in_epoch, global_step, ranks, epoch_loss_sum,
//   epoch_samples, epoch_seconds
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/image.hpp"
#include "nn/autoencoder.hpp"
#include "nn/normalisation.hpp"
#include "nn/optimizer.hpp"

namespace aepipe::nn {

inline constexpr const char* kModelFormat = "model";
inline constexpr std::int64_t kModelVersion = 1;

struct History {
  std::vector<double> train_loss, validation_loss, learning_rate, samples_per_s, seconds;
};

struct TrainingState {
  Optimizer::Kind optimizer = Optimizer::Kind::kAdam;
  std::int64_t optimizer_steps = 0;
  std::vector<float> first, second;
  std::int64_t epoch = 0;          // epoch in progress
  std::int64_t step_in_epoch = 0;  // next step to run in it
  std::int64_t global_step = 0;    // steps taken in total (the schedule's clock)
  std::int64_t ranks = 1;
  // Totals of the epoch in progress, so its history entry covers all of it after a resume.
  double epoch_loss_sum = 0;  // sum over its samples of the step loss
  double epoch_samples = 0;
  double epoch_seconds = 0;
};

struct ModelInfo {
  std::string kind = "autoencoder";
  data::ImageShape shape;
  Normalisation normalisation;
  std::string config;
  History history;
};

struct LoadedModel {
  std::unique_ptr<Autoencoder<float>> network;
  ModelInfo info;
  std::optional<TrainingState> state;  // present in checkpoints
};

// Writes `path` directly (callers write to a temporary name and rename). Serial.
void write_model(const std::string& path, Autoencoder<float>& network, const ModelInfo& info,
                 const TrainingState* state);

// Reads and validates a model or checkpoint; throws Error naming the file and what is wrong.
LoadedModel read_model(const std::string& path);

}  // namespace aepipe::nn
