#pragma once
// Uniform scalar quantisation of codes, one range per code dimension (the `codes` contract's
// /scale and /offset): a value x of dimension j is stored as the level
//   q = clamp(round((x - offset_j) / scale_j), 0, 2^bits - 1)
// and read back as offset_j + scale_j * q. The range of each dimension is learned from a
// sample of its values: among ranges clipped at a few symmetric quantiles, the one with the
// least squared error on the sample (clipping rare outliers buys finer steps for the rest).
#include <Eigen/Core>
#include <cstdint>
#include <vector>

namespace aepipe::codec {

struct Quantiser {
  int bits = 0;            // 1..16
  Eigen::VectorXf scale;   // [k] step per level (0 for a constant dimension)
  Eigen::VectorXf offset;  // [k] value of level 0

  std::uint32_t max_level() const { return (std::uint32_t{1} << bits) - 1; }
  std::uint16_t quantise(float value, Eigen::Index dimension) const;
  float dequantise(std::uint32_t level, Eigen::Index dimension) const {
    return offset(dimension) + scale(dimension) * static_cast<float>(level);
  }
};

// samples[j] holds sampled values of dimension j (any order; it is sorted here). Throws
// UsageError unless 1 <= bits <= 16.
Quantiser fit_quantiser(std::vector<std::vector<float>>& samples, int bits);

}  // namespace aepipe::codec
