#pragma once
// Input corruption for denoising autoencoders, parsed from "gaussian:0.1", "mask:0.3" or
// "saltpepper:0.1". Values are pixel intensities in [0, 1]. Every draw is a hash of (seed,
// epoch, global row, pixel), so the corruption of a sample never depends on which rank
// holds it.
#include <Eigen/Core>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace aepipe::nn {

struct Noise {
  enum class Kind { kNone, kGaussian, kMask, kSaltPepper };
  Kind kind = Kind::kNone;
  double level = 0.0;  // sigma, or the probability of corrupting a pixel

  // values [D, count]; rows[i] is column i's global row.
  void apply(Eigen::MatrixXf& values, const std::vector<std::int64_t>& rows, std::uint64_t seed,
             std::int64_t epoch) const;
  std::string describe() const;
};

// Throws UsageError quoting `spec`.
Noise parse_noise(const std::string& spec);

// Uniform noise in [-width/2, width/2) for the code of each row: out [units, rows.size()];
// a hash of (seed, epoch, global row, unit) like Noise, so any rank draws the same values.
// Training with it stands in for rounding the code to steps of `width` (quantisation).
void uniform_code_noise(Eigen::MatrixXf& out, Eigen::Index units,
                        std::span<const std::int64_t> rows, std::uint64_t seed, std::int64_t epoch,
                        double width);

}  // namespace aepipe::nn
