#pragma once
// `aepipe train`: learns an autoencoder (or closed-form PCA) from a data file with
// data-parallel SGD over all ranks and writes a model file.
#include <cstdint>
#include <string>

#include "stages/context.hpp"

namespace aepipe::stages {

struct TrainOptions {
  std::string input;
  std::string output;
  std::string arch;                 // "784-1000-500-250-30" or "pca:30"
  std::string activation = "relu";  // hidden layers
  std::string code_activation = "linear";
  std::string output_activation = "sigmoid";
  std::string loss = "xent";
  std::int64_t epochs = 20;
  std::int64_t batch = 128;       // global batch, split over ranks
  std::int64_t micro_batch = 64;  // rows per exactly summed gradient piece
  std::string optimizer = "adam";
  std::string precision = "fp32";  // of the dense products: fp32, bf16 or auto (nn/precision.hpp)
  double lr = 2e-3;
  double momentum = 0.9;
  std::int64_t warmup = -1;  // steps; -1: 2% of all steps (at most 1000)
  std::string lr_decay = "cosine";
  double final_lr_fraction = 0.01;
  std::int64_t reference_batch = 0;  // linear scaling rule: lr * batch / reference
  double weight_decay = 0.0;
  std::string sparsity = "none";
  double rho = 0.05;
  double beta = 3.0;
  std::int64_t k = 0;
  std::string noise = "none";
  double code_noise = 0.0;  // uniform noise of this width on the code (quantisation-aware)
  bool tied = false;
  std::int64_t pretrain_epochs = 0;
  std::string normalise = "none";
  double validation = 0.05;           // fraction of rows held out
  std::int64_t buffer_mb = 256;       // streaming window per rank
  std::int64_t checkpoint_every = 0;  // steps; 0: at the end of each epoch only
  bool resume = false;
};

void validate(const TrainOptions& options);
// The options as "key = value" lines (stored in the model as its config).
std::string describe(const TrainOptions& options);

void run_train(const TrainOptions& options, const StageContext& context);

}  // namespace aepipe::stages
