#include "nn/optimizer.hpp"

#include <cmath>

#include "util/error.hpp"
#include "util/parallel_ranges.hpp"
#include "util/vector_clones.hpp"

namespace aepipe::nn {
namespace {

// The update loops run once per step over every parameter (2.8 M for the deep Fashion
// model): memory-bound, so they get AVX2 clones (util/vector_clones.hpp). The file is built
// with -fno-math-errno so sqrt vectorises; `omp simd` asks for vectors at -O2.

AEPIPE_VECTOR_CLONES
void sgd_update(float* __restrict parameters, const float* __restrict gradients,
                float* __restrict velocity, std::size_t n, float mu, float rate) {
#pragma omp simd
  for (std::size_t i = 0; i < n; ++i) {
    velocity[i] = mu * velocity[i] + gradients[i];
    parameters[i] -= rate * velocity[i];
  }
}

AEPIPE_VECTOR_CLONES
void adam_update(float* __restrict parameters, const float* __restrict gradients,
                 float* __restrict first, float* __restrict second, std::size_t n, float b1,
                 float b2, float rate, float eps) {
#pragma omp simd
  for (std::size_t i = 0; i < n; ++i) {
    const float g = gradients[i];
    first[i] = b1 * first[i] + (1.0f - b1) * g;
    second[i] = b2 * second[i] + (1.0f - b2) * g * g;
    parameters[i] -= rate * first[i] / (std::sqrt(second[i]) + eps);
  }
}

}  // namespace

double Schedule::rate(std::int64_t step) const {
  if (warmup_steps > 0 && step < warmup_steps)
    return lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  const std::int64_t decay_steps = std::max<std::int64_t>(1, total_steps - warmup_steps);
  const double progress =
      std::min(1.0, static_cast<double>(step - warmup_steps) / static_cast<double>(decay_steps));
  const double floor = lr * final_fraction;
  switch (decay) {
    case Decay::kNone:
      return lr;
    case Decay::kCosine:
      return floor + (lr - floor) * 0.5 * (1.0 + std::cos(M_PI * progress));
    case Decay::kLinear:
      return lr + (floor - lr) * progress;
  }
  return lr;
}

Schedule::Decay parse_decay(const std::string& text) {
  if (text == "cosine") return Schedule::Decay::kCosine;
  if (text == "linear") return Schedule::Decay::kLinear;
  if (text == "none") return Schedule::Decay::kNone;
  throw UsageError(cat("unknown learning-rate decay '", text, "' (use cosine, linear or none)"));
}

std::string to_string(Schedule::Decay decay) {
  switch (decay) {
    case Schedule::Decay::kNone:
      return "none";
    case Schedule::Decay::kCosine:
      return "cosine";
    case Schedule::Decay::kLinear:
      return "linear";
  }
  return "?";
}

Optimizer::Kind parse_optimizer(const std::string& text) {
  if (text == "adam") return Optimizer::Kind::kAdam;
  if (text == "sgd") return Optimizer::Kind::kSgd;
  throw UsageError(cat("unknown optimizer '", text, "' (use adam or sgd)"));
}

std::string to_string(Optimizer::Kind kind) {
  return kind == Optimizer::Kind::kAdam ? "adam" : "sgd";
}

Optimizer::Optimizer(Kind kind, std::size_t parameters, double momentum, double beta1, double beta2,
                     double epsilon)
    : kind_(kind),
      momentum_(momentum),
      beta1_(beta1),
      beta2_(beta2),
      epsilon_(epsilon),
      first_(parameters, 0.0f),
      second_(kind == Kind::kAdam ? parameters : 0, 0.0f) {}

void Optimizer::step(std::span<float> parameters, std::span<const float> gradients, double lr,
                     std::size_t begin, std::size_t end) {
  ++steps_;
  if (end > parameters.size() || begin > end || gradients.size() != parameters.size() ||
      first_.size() != parameters.size())
    throw Error(cat("internal: optimiser step over [", begin, ", ", end, ") of ", parameters.size(),
                    " parameters (", gradients.size(), " gradients, state of ", first_.size(),
                    ")"));
  float* w = parameters.data() + begin;
  const float* g = gradients.data() + begin;
  if (kind_ == Kind::kSgd) {
    float* velocity = first_.data() + begin;
    for_each_range(end - begin, 16, [&](std::size_t from, std::size_t to) {
      sgd_update(w + from, g + from, velocity + from, to - from, static_cast<float>(momentum_),
                 static_cast<float>(lr));
    });
    return;
  }
  const float b1 = static_cast<float>(beta1_), b2 = static_cast<float>(beta2_);
  const double t = static_cast<double>(steps_);
  // Bias corrections folded into the step size (Kingma & Ba, section 2).
  const float rate =
      static_cast<float>(lr * std::sqrt(1.0 - std::pow(beta2_, t)) / (1.0 - std::pow(beta1_, t)));
  const float eps = static_cast<float>(epsilon_ * std::sqrt(1.0 - std::pow(beta2_, t)));
  float* m = first_.data() + begin;
  float* v = second_.data() + begin;
  for_each_range(end - begin, 16, [&](std::size_t from, std::size_t to) {
    adam_update(w + from, g + from, m + from, v + from, to - from, b1, b2, rate, eps);
  });
}

}  // namespace aepipe::nn
