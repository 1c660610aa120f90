#include "nn/trainer.hpp"

#include <chrono>
#include <cmath>

#include "data/training_stream.hpp"
#include "mpi/agreement.hpp"
#include "mpi/exact_sum.hpp"
#include "mpi/node_shared_step.hpp"
#include "nn/dataset_pass.hpp"
#include "nn/evaluation.hpp"
#include "util/atomic_output.hpp"
#include "util/error.hpp"
#include "util/parallel_ranges.hpp"
#include "util/progress.hpp"
#include "util/stop_signal.hpp"

namespace aepipe::nn {
namespace {

using Clock = std::chrono::steady_clock;

// sum[i] += term[i] (equal sizes).
void add_to(std::span<float> sum, std::span<const float> term) {
  for_each_range(sum.size(), 16, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) sum[i] += term[i];
  });
}

// Clean target and (possibly corrupted) input of a batch, both [D', b].
// Applies the phase's transform (the layers pretrained before) one micro-batch at a time: a
// GEMM's low bits can depend on a column's place in the matrix, and a rank's slice holds whole
// micro-batches, so only transforming those exact pieces gives the same bits on any rank
// count (a whole slice of 100 rows at 1 rank is 64 + 36 at 2).
void transform_by_micro_batch(const TrainingPhase& phase, Eigen::MatrixXf& values) {
  const Eigen::Index micro = static_cast<Eigen::Index>(phase.micro_batch);
  if (values.cols() <= micro) {
    phase.transform(values);
    return;
  }
  Eigen::MatrixXf piece, result;
  for (Eigen::Index c = 0; c < values.cols(); c += micro) {
    const Eigen::Index width = std::min(micro, values.cols() - c);
    piece = values.middleCols(c, width);
    phase.transform(piece);
    if (c == 0) result.resize(piece.rows(), values.cols());
    result.middleCols(c, width) = piece;
  }
  values = std::move(result);
}

void prepare_batch(const std::vector<std::uint8_t>& pixels, const std::vector<std::int64_t>& rows,
                   const Normalisation& normalisation, const TrainingPhase& phase,
                   std::int64_t epoch, Eigen::MatrixXf& input, Eigen::MatrixXf& target) {
  const auto count = static_cast<Eigen::Index>(rows.size());
  if (phase.noise.kind == Noise::Kind::kNone) {
    normalisation.apply(pixels.data(), count, target);
    if (phase.transform) transform_by_micro_batch(phase, target);
    input = target;
    return;
  }
  const Eigen::Index dim = normalisation.mean.size();
  Eigen::Map<const Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>> bytes(pixels.data(),
                                                                                      dim, count);
  input = bytes.cast<float>() * (1.0f / 255.0f);
  target = input;
  phase.noise.apply(input, rows, phase.seed, epoch + phase.epoch_offset);
  normalisation.apply_to_unit(input);
  normalisation.apply_to_unit(target);
  if (phase.transform) {
    transform_by_micro_batch(phase, input);
    transform_by_micro_batch(phase, target);
  }
}

// For the length of a phase the network computes with the node's shared parameters (when the
// step goes through shared memory), and takes their final values back when the phase ends,
// however it ends: every way out (return, an error all ranks agreed on) is at a point where
// no rank is writing them.
class SharedParameters {
 public:
  SharedParameters(Autoencoder<float>& network, const mpi::NodeSharedStep* step)
      : network_(network) {
    if (step != nullptr) network.use_parameter_storage(step->parameters());
  }
  ~SharedParameters() { network_.use_own_parameters(); }
  SharedParameters(const SharedParameters&) = delete;
  SharedParameters& operator=(const SharedParameters&) = delete;

 private:
  Autoencoder<float>& network_;
};

}  // namespace

Trainer::Trainer(const mpi::Communicator& comm, const data::DataFileReader& reader,
                 const data::RowSplit& split, std::int64_t window_chunks, const ModelInfo& info,
                 bool show_progress, const MetricsLog& metrics)
    : comm_(comm),
      reader_(reader),
      split_(split),
      window_chunks_(window_chunks),
      info_(info),
      show_progress_(show_progress),
      metrics_(metrics) {}

Trainer::Evaluation Trainer::evaluate(Autoencoder<float>& network, bool validation_rows,
                                      const std::function<void(Eigen::MatrixXf&)>& transform) {
  const Reconstruction result = evaluate_reconstruction(
      network, info_.normalisation, reader_, split_,
      validation_rows ? RowSelection::kValidation : RowSelection::kAll, comm_, transform);
  return {result.sse_per_image, result.loss, result.images};
}

void Trainer::write_checkpoint(Autoencoder<float>& network, Optimizer& optimizer,
                               const mpi::Shards& shards, const TrainingState& state,
                               const CheckpointPolicy& policy, const History& history) {
  if (policy.path.empty()) return;
  mpi::allgather_shards(comm_, optimizer.first_moment(), shards);
  if (optimizer.kind() == Optimizer::Kind::kAdam)
    mpi::allgather_shards(comm_, optimizer.second_moment(), shards);
  // Written whole under a temporary name, then renamed: the checkpoint under the final name
  // is always complete, whatever moment the job dies. Every rank registers the temporary, so
  // whichever rank ends the job removes it.
  const std::string temporary = temporary_path_for(policy.path, comm_);
  mpi::collectively(comm_, [&] {
    if (!comm_.is_root()) return;
    ModelInfo info = info_;
    info.history = history;
    TrainingState saved = state;
    saved.optimizer = optimizer.kind();
    saved.first = optimizer.first_moment();
    saved.second = optimizer.second_moment();
    saved.optimizer_steps = optimizer.steps();
    saved.ranks = comm_.size();
    write_model(temporary, network, info, &saved);
    commit_output(temporary, policy.path);
  });
  unregister_temporary(temporary);
}

bool Trainer::run(Autoencoder<float>& network, const TrainingPhase& phase,
                  const std::optional<TrainingState>& resume, const CheckpointPolicy& policy,
                  History& history) {
  data::TrainingStream stream(reader_, split_, window_chunks_, phase.global_batch, comm_.rank(),
                              comm_.size(), phase.micro_batch);
  const std::int64_t steps_per_epoch = stream.steps_per_epoch();
  // Every rank finds the same count: agreeing makes one rank, not all, report it.
  mpi::collectively(comm_, [&] {
    if (steps_per_epoch == 0) throw Error(cat(reader_.path(), " has no training rows"));
  });
  Schedule schedule = phase.schedule;
  schedule.total_steps = steps_per_epoch * phase.epochs;
  Optimizer optimizer(phase.optimizer, network.parameters().size(), phase.momentum);
  // Rank r's slice of the parameters, the one it updates (on exact-sum blocks).
  const mpi::Shards shards(network.parameters().size(), comm_.size(), mpi::ExactSum::kBlock);
  const std::size_t own_begin = shards.begin(comm_.rank()), own_end = shards.end(comm_.rank());
  // Ranks that share one node exchange the step through shared memory, others as messages
  // (null): mpi/node_shared_step.hpp. Declared before `attached`, which ends first.
  const auto shared_step = mpi::NodeSharedStep::create(comm_, shards, network.parameters());
  const SharedParameters attached(network, shared_step.get());
  std::int64_t first_epoch = 0, first_step = 0, global_step = 0;
  if (resume) {
    optimizer.first_moment() = resume->first;
    optimizer.second_moment() = resume->second;
    optimizer.set_steps(resume->optimizer_steps);
    first_epoch = resume->epoch;
    first_step = resume->step_in_epoch;
    global_step = resume->global_step;
  }

  Progress progress(phase.name, schedule.total_steps, "steps", show_progress_);
  std::vector<std::uint8_t> pixels;
  std::vector<std::int64_t> rows;
  Eigen::MatrixXf input, target, micro_input, micro_target, code_noise;
  Eigen::VectorXf rho_hat;
  mpi::ExactSum gradient_sum, code_sum;
  std::vector<float> piece_sum;
  const bool kl = network.objective().sparsity == Sparsity::kKl;
  double smoothed_loss = NAN;
  for (std::int64_t epoch = first_epoch; epoch < phase.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    std::int64_t step_in_epoch = epoch == first_epoch ? first_step : 0;
    stream.start_epoch(epoch + phase.epoch_offset, step_in_epoch);
    double loss_sum = 0, samples = 0, seconds_before = 0, lr = schedule.rate(global_step);
    // This rank's time in the gradient reduce-scatter and the parameter allgather (waits for
    // slower ranks included): what an allreduce of the gradient would take.
    double allreduce_seconds = 0;
    if (resume && epoch == first_epoch) {  // the part of this epoch run before the stop
      loss_sum = resume->epoch_loss_sum;
      samples = resume->epoch_samples;
      seconds_before = resume->epoch_seconds;
    }
    const auto elapsed = [&] {
      return seconds_before + std::chrono::duration<double>(Clock::now() - epoch_start).count();
    };
    while (true) {
      // Agreed: a damaged chunk may be read by one rank (its micro-batches) or by all (a
      // window they share); either way the job ends with one message, on every rank together.
      const std::int64_t batch =
          mpi::collectively(comm_, [&] { return stream.next(pixels, rows); });
      if (batch == 0) break;
      mpi::collectively(comm_, [&] {
        prepare_batch(pixels, rows, info_.normalisation, phase, epoch, input, target);
      });
      // Micro-batches of this rank: columns [c, c + width) of input/target.
      const Eigen::Index local = input.cols();
      const Eigen::Index micro = static_cast<Eigen::Index>(phase.micro_batch);
      // With at most two pieces in the whole global batch, a float sum rounds once, as the
      // exact sum does: plain float allreduces give the same bits and cost less.
      const bool exact = (batch + micro - 1) / micro > 2;
      if (kl) {
        // rho^: the sum of every micro-batch's code activations over the global batch.
        const auto code_size = network.architecture().code_size();
        rho_hat.setZero(code_size);
        code_sum.reset(static_cast<std::size_t>(code_size));
        for (Eigen::Index c = 0; c < local; c += micro) {
          micro_input = input.middleCols(c, std::min(micro, local - c));
          network.forward(micro_input);
          const Eigen::VectorXf sums = network.code_sum();
          if (exact)
            code_sum.add(std::span(sums.data(), static_cast<std::size_t>(sums.size())));
          else
            rho_hat += sums;
        }
        if (exact) {
          code_sum.allreduce(comm_);
          code_sum.round_to(std::span(rho_hat.data(), static_cast<std::size_t>(code_size)));
        } else {
          comm_.allreduce_sum(rho_hat);
        }
        rho_hat /= static_cast<float>(batch);
      }
      // Each piece's gradient is written where it is summed: staged in the exact sum, or
      // for two pieces on this rank the first aside (piece_sum) and the second in place
      // (this rank's node-shared gradient buffer, or the network's).
      const std::size_t parameter_count = network.parameters().size();
      const std::span<float> local_gradient =
          shared_step ? shared_step->gradient() : network.gradients();
      if (exact) gradient_sum.reset(parameter_count);
      const bool two_local_pieces = !exact && local > micro;
      if (two_local_pieces) piece_sum.resize(parameter_count);
      double data_loss = 0;
      Eigen::Index pieces = 0;
      for (Eigen::Index c = 0; c < local; c += micro, ++pieces) {
        const Eigen::Index width = std::min(micro, local - c);
        // One piece covering this rank's whole slice needs no copy of it.
        const bool whole = c == 0 && width == local;
        if (!whole) {
          micro_input = input.middleCols(c, width);
          micro_target = target.middleCols(c, width);
        }
        const Eigen::MatrixXf& piece_input = whole ? input : micro_input;
        const Eigen::MatrixXf& piece_target = whole ? target : micro_target;
        if (phase.code_noise > 0) {
          uniform_code_noise(
              code_noise, network.architecture().code_size(),
              std::span(rows).subspan(static_cast<size_t>(c), static_cast<size_t>(width)),
              phase.seed, epoch + phase.epoch_offset, phase.code_noise);
          network.forward(piece_input, &code_noise);
        } else {
          network.forward(piece_input);
        }
        const std::span<float> piece_gradient = exact ? gradient_sum.stage()
                                                : two_local_pieces && pieces == 0
                                                    ? std::span(piece_sum)
                                                    : local_gradient;
        data_loss += network.backward(piece_target, batch, kl ? &rho_hat : nullptr, piece_gradient);
      }
      if (two_local_pieces) add_to(local_gradient, piece_sum);  // one rounding, as exact
      // One or two pieces (summed in place) or none (adds zeros).
      if (!exact && pieces == 0) std::fill(local_gradient.begin(), local_gradient.end(), 0.0f);
      // Read from every parameter, so before any rank's update may change them.
      const float decay_penalty = network.weight_decay_penalty();
      // The sharded step (mpi/shards.hpp): only this rank's slice of the gradient is summed
      // over ranks here, the optimiser updates that slice, and the slices are gathered after.
      auto allreduce_start = Clock::now();
      if (shared_step) shared_step->gradients_ready();
      if (exact)
        gradient_sum.reduce_scatter_round_to(comm_, network.gradients(), shards);  // no rows: 0
      else if (shared_step)
        shared_step->sum_own_slice(network.gradients());
      else
        mpi::reduce_scatter_sum(comm_, network.gradients(), shards);
      allreduce_seconds += std::chrono::duration<double>(Clock::now() - allreduce_start).count();
      network.add_weight_decay(own_begin, own_end);
      double shared[2] = {data_loss, stop_requested() ? 1.0 : 0.0};
      comm_.allreduce_sum(std::span<double>(shared, 2));
      const double loss = shared[0] + (kl ? network.kl_penalty(rho_hat) : 0.0f) + decay_penalty;
      mpi::collectively(comm_, [&] {
        if (!std::isfinite(loss))
          throw Error(cat(phase.name, " diverged: the loss is ", loss, " at epoch ", epoch + 1,
                          ", step ", step_in_epoch + 1, " (global step ", global_step + 1,
                          "); lower --lr",
                          policy.path.empty() ? "" : "; the last checkpoint is kept"));
      });
      lr = schedule.rate(global_step);
      optimizer.step(network.parameters(), network.gradients(), lr, own_begin, own_end);
      allreduce_start = Clock::now();
      if (shared_step)
        shared_step->parameters_ready();
      else
        mpi::allgather_shards(comm_, network.parameters(), shards);
      allreduce_seconds += std::chrono::duration<double>(Clock::now() - allreduce_start).count();
      ++global_step;
      ++step_in_epoch;
      loss_sum += loss * static_cast<double>(batch);
      samples += static_cast<double>(batch);
      smoothed_loss = std::isnan(smoothed_loss) ? loss : 0.98 * smoothed_loss + 0.02 * loss;
      progress.update(global_step,
                      cat("epoch ", epoch + 1, "/", phase.epochs, ", loss ",
                          static_cast<float>(smoothed_loss), ", lr ", static_cast<float>(lr)));
      const TrainingState state{optimizer.kind(), 0,           {},           {},       epoch,
                                step_in_epoch,    global_step, comm_.size(), loss_sum, samples,
                                elapsed()};
      if (shared[1] > 0) {
        write_checkpoint(network, optimizer, shards, state, policy, history);
        progress.finish();
        return false;
      }
      if (policy.every_steps > 0 && global_step % policy.every_steps == 0)
        write_checkpoint(network, optimizer, shards, state, policy, history);
    }
    const double seconds = elapsed();
    const Evaluation validation = evaluate(network, true, phase.transform);
    history.train_loss.push_back(samples > 0 ? loss_sum / samples : NAN);
    history.validation_loss.push_back(validation.rows > 0 ? validation.loss : NAN);
    history.learning_rate.push_back(lr);
    history.samples_per_s.push_back(seconds > 0 ? samples / seconds : 0);
    history.seconds.push_back(seconds);
    if (show_progress_)
      std::fprintf(stderr,
                   "%s: epoch %lld/%lld  train loss %.5g  validation loss %.5g  "
                   "validation SSE/image %.4g  %.0f samples/s\n",
                   phase.name.c_str(), static_cast<long long>(epoch + 1),
                   static_cast<long long>(phase.epochs), history.train_loss.back(),
                   history.validation_loss.back(), validation.sse_per_image,
                   history.samples_per_s.back());
    mpi::collectively(comm_, [&] {
      metrics_.write(
          JsonObject()
              .add("stage", "train")
              .add("event", "epoch")
              .add("phase", phase.name)
              .add("epoch", epoch + 1)
              .add("train_loss", history.train_loss.back())
              .add("validation_loss", history.validation_loss.back())
              .add("validation_sse_per_image", validation.sse_per_image)
              .add("learning_rate", lr)
              .add("samples_per_s", history.samples_per_s.back())
              .add("seconds", seconds)
              // Rank 0's share of the epoch's steps spent in the gradient allreduce,
              // waiting for slower ranks included (0 on one rank).
              .add("allreduce_share",
                   seconds > seconds_before ? allreduce_seconds / (seconds - seconds_before) : 0.0)
              // How the ranks exchanged the step: mpi/node_shared_step.hpp or the rings.
              .add("step_exchange", comm_.size() == 1 ? "none"
                                    : shared_step     ? "node shared memory"
                                                      : "mpi messages"));
    });
    const TrainingState state{optimizer.kind(), 0, {}, {}, epoch + 1, 0, global_step,
                              comm_.size(),     0, 0,  0};
    write_checkpoint(network, optimizer, shards, state, policy, history);
  }
  progress.finish();
  return true;
}

}  // namespace aepipe::nn
