#include "stages/train.hpp"

#include <chrono>
#include <filesystem>

#include "mpi/agreement.hpp"
#include "mpi/exact_sum.hpp"
#include "nn/bf16_gemm.hpp"
#include "nn/dataset_pass.hpp"
#include "nn/gemm.hpp"
#include "nn/model_file.hpp"
#include "nn/pca.hpp"
#include "nn/trainer.hpp"
#include "util/atomic_output.hpp"
#include "util/error.hpp"
#include "util/report.hpp"
#include "util/stop_signal.hpp"

namespace aepipe::stages {
namespace {

using Clock = std::chrono::steady_clock;

nn::Normalisation fit_normalisation(nn::NormalisationMode mode, const data::DataFileReader& reader,
                                    const data::RowSplit& split, const mpi::Communicator& comm) {
  const auto dim = static_cast<Eigen::Index>(reader.shape().bytes());
  nn::Normalisation normalisation;
  normalisation.mode = nn::NormalisationMode::kNone;
  normalisation.mean = Eigen::VectorXf::Zero(dim);
  normalisation.scale = Eigen::VectorXf::Ones(dim);
  if (mode == nn::NormalisationMode::kNone) return normalisation;
  // Per-chunk float sums (the same chunks whatever the rank count) summed exactly across
  // chunks and ranks, so the statistics are bit-identical for any P.
  mpi::ExactSum sum, squares, centred;
  sum.reset(static_cast<std::size_t>(dim));
  squares.reset(static_cast<std::size_t>(dim));
  centred.reset(1);
  double count = 0;
  Eigen::MatrixXf batch;
  mpi::collectively(comm, [&] {
    nn::for_each_chunk(
        reader, split, nn::RowSelection::kTraining, comm.rank(), comm.size(),
        [&](const auto& pixels, const auto& rows) {
          normalisation.apply(pixels.data(), static_cast<Eigen::Index>(rows.size()), batch);
          const Eigen::VectorXf chunk_sum = batch.rowwise().sum();
          const Eigen::VectorXf chunk_squares = batch.array().square().rowwise().sum();
          sum.add(std::span(chunk_sum.data(), static_cast<std::size_t>(dim)));
          squares.add(std::span(chunk_squares.data(), static_cast<std::size_t>(dim)));
          batch.rowwise() -= batch.colwise().mean();
          const float chunk_centred = batch.squaredNorm();
          centred.add(std::span(&chunk_centred, 1));
          count += static_cast<double>(rows.size());
        });
  });
  sum.allreduce(comm);
  squares.allreduce(comm);
  centred.allreduce(comm);
  count = comm.allreduce_sum(count);
  const double centred_squares = centred.value(0);
  mpi::collectively(comm, [&] {
    if (count < 1) throw Error(cat(reader.path(), " has no training rows"));
  });
  normalisation.mode = mode;
  if (mode == nn::NormalisationMode::kPixel) {
    Eigen::VectorXd mean(dim), variance(dim);
    for (Eigen::Index j = 0; j < dim; ++j) {
      mean(j) = sum.value(static_cast<std::size_t>(j)) / count;
      variance(j) =
          std::max(0.0, squares.value(static_cast<std::size_t>(j)) / count - mean(j) * mean(j));
    }
    normalisation.mean = mean.cast<float>();
    // Constant pixels (image borders) would get an infinite scale: floor the std at 0.01.
    normalisation.scale = variance.cwiseSqrt().cwiseMax(0.01).cwiseInverse().cast<float>();
  } else {
    const double sigma = std::sqrt(centred_squares / (count * static_cast<double>(dim)));
    normalisation.scale =
        Eigen::VectorXf::Constant(dim, static_cast<float>(std::max(3.0 * sigma, 1e-3)));
  }
  return normalisation;
}

// Applies layers [0, count) of `network` to `values` in place ([D, b] -> [size, b]).
void apply_encoder_prefix(nn::Autoencoder<float>& network, std::size_t count,
                          Eigen::MatrixXf& values) {
  Eigen::MatrixXf next;
  for (std::size_t l = 0; l < count; ++l) {
    const auto weight = network.weight(l);
    next.resize(weight.rows(), values.cols());
    nn::gemm<float>(1.0f, weight, nn::Transpose::kNo, values, nn::Transpose::kNo, 0.0f, next);
    next.colwise() += network.bias(l);
    nn::activate<float>(network.activation(l), next);
    values.swap(next);
  }
}

void write_model_atomically(const std::string& output, nn::Autoencoder<float>& network,
                            const nn::ModelInfo& info, const mpi::Communicator& comm) {
  const std::string temporary = temporary_path_for(output, comm);
  mpi::collectively(comm, [&] {
    if (comm.is_root()) {
      nn::write_model(temporary, network, info, nullptr);
      commit_output(temporary, output);
    }
  });
  unregister_temporary(temporary);
}

nn::TrainingPhase base_phase(const TrainOptions& options, const StageContext& context,
                             std::int64_t epochs, const std::string& name) {
  nn::TrainingPhase phase;
  phase.name = name;
  phase.epochs = epochs;
  phase.global_batch = options.batch;
  phase.micro_batch = options.micro_batch;
  phase.optimizer = nn::parse_optimizer(options.optimizer);
  phase.momentum = options.momentum;
  phase.noise = nn::parse_noise(options.noise);
  phase.seed = context.common.seed;
  phase.schedule.lr = options.lr;
  if (options.reference_batch > 0)
    phase.schedule.lr *=
        static_cast<double>(options.batch) / static_cast<double>(options.reference_batch);
  phase.schedule.decay = nn::parse_decay(options.lr_decay);
  phase.schedule.final_fraction = options.final_lr_fraction;
  return phase;
}

void set_warmup(nn::TrainingPhase& phase, const TrainOptions& options,
                std::int64_t steps_per_epoch) {
  const std::int64_t total = steps_per_epoch * phase.epochs;
  phase.schedule.warmup_steps =
      options.warmup >= 0 ? options.warmup : std::min<std::int64_t>(1000, total / 50);
}

// Says on rank 0 how bf16 products will run here: at bf16 speed, or emulated (the numbers of
// bf16, slower than fp32) on a CPU without bf16 arithmetic.
void report_precision(nn::Precision precision, const StageContext& context) {
  if (precision != nn::Precision::kBf16 || !context.comm.is_root()) return;
  if (nn::bf16_kernel() == nn::Bf16Kernel::kEmulated)
    print_warning(
        cat("--precision bf16 on a CPU without bf16 arithmetic (oneDNN ISA ", nn::cpu_isa_name(),
            "): the products are emulated (operands rounded to bf16, float GEMM), "
            "which gives bf16's numbers but runs slower than fp32"),
        context.comm.rank());
  else if (context.show_progress())
    std::fprintf(stderr, "train: bf16 products with oneDNN's %s kernels\n",
                 nn::cpu_isa_name().c_str());
}

}  // namespace

void validate(const TrainOptions& options) {
  if (options.input.empty()) throw UsageError("no input given (--input data.h5)");
  if (options.output.empty()) throw UsageError("no output given (--output model.h5)");
  if (options.arch.empty())
    throw UsageError("no architecture given (--arch 784-1000-500-250-30 or pca:30)");
  nn::parse_architecture(options.arch, {}, options.tied);
  nn::parse_activation(options.activation);
  nn::parse_activation(options.code_activation);
  nn::parse_activation(options.output_activation);
  nn::parse_loss(options.loss);
  nn::parse_optimizer(options.optimizer);
  nn::parse_precision(options.precision);
  nn::parse_decay(options.lr_decay);
  nn::parse_sparsity(options.sparsity);
  nn::parse_noise(options.noise);
  nn::parse_normalisation(options.normalise);
  if (options.epochs < 1) throw UsageError(cat("--epochs must be >= 1, got ", options.epochs));
  if (options.batch < 1) throw UsageError(cat("--batch must be >= 1, got ", options.batch));
  if (options.micro_batch < 1)
    throw UsageError(cat("--micro-batch must be >= 1, got ", options.micro_batch));
  if (!(options.lr > 0) || !std::isfinite(options.lr))
    throw UsageError(cat("--lr must be > 0, got ", options.lr));
  if (options.momentum < 0 || options.momentum >= 1)
    throw UsageError(cat("--momentum must lie in [0, 1), got ", options.momentum));
  if (options.final_lr_fraction < 0 || options.final_lr_fraction > 1)
    throw UsageError(
        cat("--final-lr-fraction must lie in [0, 1], got ", options.final_lr_fraction));
  if (options.validation < 0 || options.validation >= 1)
    throw UsageError(cat("--validation must lie in [0, 1), got ", options.validation));
  if (options.pretrain_epochs < 0) throw UsageError("--pretrain-epochs must be >= 0");
  if (options.checkpoint_every < 0) throw UsageError("--checkpoint-every must be >= 0");
  if (options.buffer_mb < 1) throw UsageError("--buffer-mb must be >= 1");
  if (options.reference_batch < 0) throw UsageError("--reference-batch must be >= 0");
  if (!(options.code_noise >= 0) || !std::isfinite(options.code_noise))
    throw UsageError(cat("--code-noise must be >= 0, got ", options.code_noise));
}

std::string describe(const TrainOptions& o) {
  return cat("input = ", o.input, "\noutput = ", o.output, "\narch = ", o.arch,
             "\nactivation = ", o.activation, "\ncode-activation = ", o.code_activation,
             "\noutput-activation = ", o.output_activation, "\nloss = ", o.loss,
             "\nepochs = ", o.epochs, "\nbatch = ", o.batch, "\nmicro-batch = ", o.micro_batch,
             "\noptimizer = ", o.optimizer, "\nlr = ", o.lr, "\nmomentum = ", o.momentum,
             "\nwarmup = ", o.warmup, "\nlr-decay = ", o.lr_decay,
             "\nfinal-lr-fraction = ", o.final_lr_fraction,
             "\nreference-batch = ", o.reference_batch, "\nweight-decay = ", o.weight_decay,
             "\nsparsity = ", o.sparsity, "\nrho = ", o.rho, "\nbeta = ", o.beta, "\nk = ", o.k,
             "\nnoise = ", o.noise, "\ntied = ", o.tied, "\npretrain-epochs = ", o.pretrain_epochs,
             "\nnormalise = ", o.normalise, "\nvalidation = ", o.validation, "\n",
             // Only when set, so checkpoints written before the option existed still resume.
             o.code_noise > 0 ? cat("code-noise = ", o.code_noise, "\n") : std::string(),
             o.precision != "fp32" ? cat("precision = ", o.precision, "\n") : std::string());
}

namespace {

// A checkpoint for --resume, read on every rank; refused (on every rank) when it is not a
// checkpoint or was written with other options.
nn::LoadedModel read_checkpoint(const std::string& path, const std::string& config,
                                const mpi::Communicator& comm) {
  nn::LoadedModel loaded = mpi::collectively(comm, [&] { return nn::read_model(path); });
  mpi::collectively(comm, [&] {
    if (!loaded.state) throw Error(cat(path, " is not a checkpoint"));
    if (loaded.info.config != config)
      throw UsageError(cat("--resume: ", path,
                           " was written with other options; "
                           "rerun with the same options or remove it"));
  });
  return loaded;
}

}  // namespace

void run_train(const TrainOptions& options, const StageContext& context) {
  validate(options);
  // First, so that a stop signal arriving while the input is read, the normalisation fitted or
  // layers pretrained is a request too (the first training step agrees on it), not a kill.
  install_stop_handlers();
  const auto& comm = context.comm;
  const auto start = Clock::now();
  // Rank 0 decides and broadcasts: nodes may see a shared file system differently for a while
  // (NFS attribute caches), and ranks must never take different paths.
  const auto exists_on_root = [&](const std::string& path) {
    const int found = mpi::collectively(
        comm, [&] { return comm.is_root() && std::filesystem::exists(path) ? 1 : 0; });
    return comm.broadcast(found, 0) != 0;
  };
  if (options.resume && exists_on_root(options.output)) {
    if (comm.is_root() && !context.common.quiet)
      std::fprintf(stderr, "train: %s already exists; nothing to resume\n", options.output.c_str());
    return;
  }
  check_output_path(options.output, {options.input}, context.common.force, comm);

  const data::DataFileReader reader =
      mpi::collectively(comm, [&] { return data::DataFileReader(options.input); });
  const auto dim = static_cast<Eigen::Index>(reader.shape().bytes());
  const nn::ActivationDefaults defaults{nn::parse_activation(options.activation),
                                        nn::parse_activation(options.code_activation),
                                        nn::parse_activation(options.output_activation)};
  const nn::Architecture architecture =
      nn::parse_architecture(options.arch, defaults, options.tied);
  if (!architecture.pca && architecture.input_size() != dim)
    throw UsageError(cat("--arch ", options.arch, " takes ", architecture.input_size(),
                         " inputs but the images of ", options.input, " have ", dim, " values (",
                         reader.shape().height, "x", reader.shape().width, "x",
                         reader.shape().channels, ")"));
  const data::RowSplit split{reader.rows(), reader.chunk_rows(), options.validation,
                             context.common.seed};
  const std::int64_t window_bytes = options.buffer_mb * (std::int64_t{1} << 20) / 2;
  const std::int64_t window_chunks = std::max<std::int64_t>(
      1, window_bytes / std::max<std::int64_t>(1, reader.chunk_rows() * reader.row_bytes()));

  // Rank 0 resolves "auto" for all: ranks on nodes with other CPUs still compute alike.
  const auto precision = static_cast<nn::Precision>(comm.broadcast(
      comm.is_root() ? static_cast<int>(nn::parse_precision(options.precision)) : 0, 0));
  TrainOptions resolved = options;
  resolved.precision = nn::precision_name(precision);

  nn::ModelInfo info;
  info.shape = reader.shape();
  // Everything that shapes the run, so a resume with other settings is refused.
  info.config = cat(describe(resolved), "seed = ", context.common.seed,
                    "\nwindow-chunks = ", window_chunks, "\n");
  info.normalisation =
      fit_normalisation(nn::parse_normalisation(options.normalise), reader, split, comm);
  const MetricsLog& metrics = context.metrics;

  if (architecture.pca) {
    nn::PcaFit fit = nn::fit_pca(reader, split, info.normalisation, architecture.code_size(), comm);
    info.kind = "pca";
    nn::Trainer trainer(comm, reader, split, window_chunks, info, false, metrics);
    const auto validation = trainer.evaluate(*fit.network, true, {});
    write_model_atomically(options.output, *fit.network, info, comm);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (context.show_progress())
      std::fprintf(stderr,
                   "train: PCA with %lld components keeps %.2f%% of the variance; "
                   "validation SSE/image %.4g; wrote %s in %.1f s\n",
                   static_cast<long long>(architecture.code_size()), 100 * fit.explained_variance,
                   validation.sse_per_image, options.output.c_str(), seconds);
    mpi::collectively(comm, [&] {
      metrics.write(JsonObject()
                        .add("stage", "train")
                        .add("event", "done")
                        .add("kind", "pca")
                        .add("explained_variance", fit.explained_variance)
                        .add("validation_sse_per_image", validation.sse_per_image)
                        .add("seconds", seconds));
    });
    return;
  }

  nn::Objective objective;
  objective.loss = nn::parse_loss(options.loss);
  objective.sparsity = nn::parse_sparsity(options.sparsity);
  objective.rho = options.rho;
  objective.beta = options.beta;
  objective.k = options.k;
  objective.weight_decay = options.weight_decay;
  nn::Autoencoder<float> network(architecture, objective);
  network.initialize(context.common.seed);
  network.set_precision(precision);
  report_precision(precision, context);

  const nn::CheckpointPolicy policy{options.output + ".checkpoint", options.checkpoint_every};
  std::optional<nn::TrainingState> resume_state;
  nn::History history;
  if (options.resume) {
    if (exists_on_root(policy.path)) {
      nn::LoadedModel loaded = read_checkpoint(policy.path, info.config, comm);
      std::copy(loaded.network->parameters().begin(), loaded.network->parameters().end(),
                network.parameters().begin());
      history = loaded.info.history;
      info.normalisation = loaded.info.normalisation;  // exactly as the interrupted run had it
      resume_state = loaded.state;
      if (comm.is_root() && !context.common.quiet)
        std::fprintf(stderr, "train: resuming from %s at epoch %lld, step %lld\n",
                     policy.path.c_str(), static_cast<long long>(resume_state->epoch + 1),
                     static_cast<long long>(resume_state->step_in_epoch));
    }
  }

  nn::Trainer trainer(comm, reader, split, window_chunks, info, context.show_progress(), metrics);
  const std::int64_t steps_per_epoch =
      (data::training_rows(split) + options.batch - 1) / options.batch;

  // Greedy layer-wise pretraining (skipped when resuming fine-tuning: its weights are in the
  // checkpoint). Each layer is an autoencoder on the codes of the layers before it, with its
  // own checkpoint OUTPUT.pretrain-<layer>.checkpoint, kept until the model is written: a
  // resume loads the layers already done from theirs (their runs are complete: nothing is
  // trained again) and continues the interrupted layer from its last step.
  const std::size_t layers = architecture.encoder_layers();
  const auto pretrain_policy = [&](std::size_t layer) {
    return nn::CheckpointPolicy{cat(options.output, ".pretrain-", layer + 1, ".checkpoint"),
                                options.checkpoint_every};
  };
  if (options.pretrain_epochs > 0 && !resume_state) {
    for (std::size_t layer = 0; layer < layers; ++layer) {
      nn::Architecture sub;
      sub.sizes = {architecture.sizes[layer], architecture.sizes[layer + 1]};
      sub.encoder = {architecture.encoder[layer]};
      sub.decoder = {layer == 0 ? architecture.decoder.back() : architecture.encoder[layer - 1]};
      sub.tied = architecture.tied;
      nn::Objective sub_objective = objective;
      if (sub.decoder[0] != nn::Activation::kSigmoid) sub_objective.loss = nn::Loss::kMse;
      if (layer + 1 != layers) sub_objective.sparsity = nn::Sparsity::kNone;
      nn::Autoencoder<float> part(sub, sub_objective);
      part.initialize(context.common.seed + layer + 1);
      part.set_precision(precision);
      nn::TrainingPhase phase = base_phase(options, context, options.pretrain_epochs,
                                           cat("pretrain layer ", layer + 1, "/", layers));
      phase.epoch_offset = static_cast<std::int64_t>(layer + 1) * 1000000;
      set_warmup(phase, options, steps_per_epoch);
      if (layer > 0)
        phase.transform = [&network, layer](Eigen::MatrixXf& values) {
          apply_encoder_prefix(network, layer, values);
        };
      nn::History part_history;
      const nn::CheckpointPolicy part_policy = pretrain_policy(layer);
      std::optional<nn::TrainingState> part_state;
      if (options.resume && exists_on_root(part_policy.path)) {
        nn::LoadedModel loaded = read_checkpoint(part_policy.path, info.config, comm);
        mpi::collectively(comm, [&] {
          if (loaded.network->architecture().sizes != sub.sizes)
            throw Error(cat(part_policy.path, " holds a ",
                            loaded.network->architecture().describe(), " network, not layer ",
                            layer + 1, "'s ", sub.describe()));
        });
        std::copy(loaded.network->parameters().begin(), loaded.network->parameters().end(),
                  part.parameters().begin());
        part_history = loaded.info.history;
        part_state = loaded.state;
      }
      if (!trainer.run(part, phase, part_state, part_policy, part_history))
        throw StopRequested(cat("stopped during pretraining of layer ", layer + 1, "; checkpoint ",
                                part_policy.path, " written; rerun with --resume to continue"));
      network.weight(layer) = part.weight(0);
      network.bias(layer) = part.bias(0);
      const std::size_t mirrored = 2 * layers - 1 - layer;
      if (!network.tied(mirrored)) network.weight(mirrored) = part.weight(1);
      network.bias(mirrored) = part.bias(1);
    }
  }

  nn::TrainingPhase phase = base_phase(options, context, options.epochs, "train");
  phase.code_noise = options.code_noise;  // fine-tuning only: pretraining has other codes
  set_warmup(phase, options, steps_per_epoch);
  if (!trainer.run(network, phase, resume_state, policy, history))
    throw StopRequested(cat("stopped on request; checkpoint ", policy.path,
                            " written; rerun with --resume to continue"));

  info.history = history;
  // In fp32, as encode, decode and evaluate will use the model (its weights are float).
  network.set_precision(nn::Precision::kFp32);
  const auto validation = trainer.evaluate(network, true, {});
  write_model_atomically(options.output, network, info, comm);
  mpi::collectively(comm, [&] {
    if (!comm.is_root()) return;
    std::filesystem::remove(policy.path);
    for (std::size_t layer = 0; layer < layers; ++layer)
      std::filesystem::remove(pretrain_policy(layer).path);
  });
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (context.show_progress())
    std::fprintf(stderr, "train: wrote %s (%s) in %.1f s; validation SSE/image %.4g\n",
                 options.output.c_str(), architecture.describe().c_str(), seconds,
                 validation.sse_per_image);
  mpi::collectively(comm, [&] {
    metrics.write(JsonObject()
                      .add("stage", "train")
                      .add("event", "done")
                      .add("kind", "autoencoder")
                      .add("validation_sse_per_image", validation.sse_per_image)
                      .add("validation_loss", validation.loss)
                      .add("ranks", comm.size())
                      .add("precision", nn::precision_name(precision))
                      .add("bf16_kernel", precision == nn::Precision::kBf16
                                              ? nn::bf16_kernel_name(nn::bf16_kernel())
                                              : "none")
                      .add("cpu_isa", nn::cpu_isa_name())
                      .add("seconds", seconds));
  });
}

}  // namespace aepipe::stages
