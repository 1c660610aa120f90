#include "codec/quantiser.hpp"

#include <algorithm>
#include <cmath>

#include "util/error.hpp"

namespace aepipe::codec {
namespace {

// Fractions of the sample clipped at each end for the candidate ranges.
constexpr double kClipFractions[] = {0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2};

struct Range {
  float offset = 0;
  float scale = 0;
};

Range range_of(float low, float high, std::uint32_t max_level) {
  if (!(high > low)) return {low, 0.0f};
  return {low, (high - low) / static_cast<float>(max_level)};
}

double squared_error(const std::vector<float>& values, Range range, std::uint32_t max_level) {
  double sum = 0;
  for (float value : values) {
    float level = range.scale > 0 ? std::nearbyint((value - range.offset) / range.scale) : 0.0f;
    level = std::clamp(level, 0.0f, static_cast<float>(max_level));
    const double error = static_cast<double>(value) - (range.offset + range.scale * level);
    sum += error * error;
  }
  return sum;
}

}  // namespace

std::uint16_t Quantiser::quantise(float value, Eigen::Index dimension) const {
  const float step = scale(dimension);
  if (!(step > 0)) return 0;
  const float level = std::nearbyint((value - offset(dimension)) / step);
  return static_cast<std::uint16_t>(std::clamp(level, 0.0f, static_cast<float>(max_level())));
}

Quantiser fit_quantiser(std::vector<std::vector<float>>& samples, int bits) {
  if (bits < 1 || bits > 16)
    throw UsageError(cat("--bits must lie in 1..16 (0 or absent keeps float32 codes), got ", bits));
  Quantiser quantiser;
  quantiser.bits = bits;
  const auto dimensions = static_cast<Eigen::Index>(samples.size());
  quantiser.scale.setZero(dimensions);
  quantiser.offset.setZero(dimensions);
  const std::uint32_t max_level = quantiser.max_level();
  for (Eigen::Index j = 0; j < dimensions; ++j) {
    auto& values = samples[static_cast<size_t>(j)];
    if (values.empty()) continue;  // never seen (a unit top-k never keeps): level 0 = 0
    std::sort(values.begin(), values.end());
    const auto quantile = [&](double fraction) {
      const auto at = static_cast<size_t>(fraction * static_cast<double>(values.size() - 1));
      return values[at];
    };
    Range best = range_of(values.front(), values.back(), max_level);
    double best_error = squared_error(values, best, max_level);
    for (double fraction : kClipFractions) {
      const Range candidate = range_of(quantile(fraction), quantile(1.0 - fraction), max_level);
      const double error = squared_error(values, candidate, max_level);
      if (error < best_error) {
        best = candidate;
        best_error = error;
      }
    }
    quantiser.offset(j) = best.offset;
    quantiser.scale(j) = best.scale;
  }
  return quantiser;
}

}  // namespace aepipe::codec
