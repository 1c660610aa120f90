#pragma once
// Optimisers over the flat parameter buffer, and the learning-rate schedule.
//   sgd:  v = momentum * v + g;  w -= lr * v
//   adam: m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  w -= lr * m^ / (sqrt(v^) + eps)
// Schedule: linear warm-up from 0 over `warmup_steps`, then `decay` (cosine or linear down
// to final_fraction * lr, or none) until total_steps. The linear scaling rule multiplies lr
// by global_batch / reference_batch when reference_batch > 0.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace aepipe::nn {

struct Schedule {
  double lr = 1e-3;
  std::int64_t warmup_steps = 0;
  enum class Decay { kNone, kCosine, kLinear } decay = Decay::kCosine;
  double final_fraction = 0.01;
  std::int64_t total_steps = 1;
  double rate(std::int64_t step) const;  // lr at `step` (0-based)
};

Schedule::Decay parse_decay(const std::string& text);
std::string to_string(Schedule::Decay decay);

class Optimizer {
 public:
  enum class Kind { kSgd, kAdam };
  Optimizer(Kind kind, std::size_t parameters, double momentum = 0.9, double beta1 = 0.9,
            double beta2 = 0.999, double epsilon = 1e-8);

  Kind kind() const { return kind_; }
  // One update at learning rate lr of `parameters` [begin, end) with `gradients` (the sharded
  // step: each rank updates its slice; the state elsewhere is left as it was). Each element
  // gets the same bits whatever the range.
  void step(std::span<float> parameters, std::span<const float> gradients, double lr,
            std::size_t begin, std::size_t end);
  std::int64_t steps() const { return steps_; }

  // State for checkpoints: first/second moments (sgd: velocity, empty) and the step count.
  std::vector<float>& first_moment() { return first_; }
  std::vector<float>& second_moment() { return second_; }
  const std::vector<float>& first_moment() const { return first_; }
  const std::vector<float>& second_moment() const { return second_; }
  void set_steps(std::int64_t steps) { steps_ = steps; }

 private:
  Kind kind_;
  double momentum_, beta1_, beta2_, epsilon_;
  std::vector<float> first_, second_;
  std::int64_t steps_ = 0;
};

Optimizer::Kind parse_optimizer(const std::string& text);
std::string to_string(Optimizer::Kind kind);

}  // namespace aepipe::nn
