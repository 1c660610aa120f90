#pragma once
// How pixels (uint8) become network inputs, stored in the model so encode/decode/evaluate
// apply the same mapping. With p = pixel / 255 in [0, 1]:
//   none   x = p                              (mean 0, scale 1 stored)
//   pixel  x = (p - mean_j) * scale_j         per-pixel mean and 1/std over the training set
//   patch  UFLDL: remove each sample's mean, clip at +-3 standard deviations of the whole
//          set (3 sigma stored as scale[0]), map [-3 sigma, 3 sigma] to [0.1, 0.9]
// Noise for denoising autoencoders is applied to p before the mapping.
#include <Eigen/Core>
#include <cstdint>
#include <string>

namespace aepipe::nn {

enum class NormalisationMode { kNone, kPixel, kPatch };

NormalisationMode parse_normalisation(const std::string& text);
std::string to_string(NormalisationMode mode);

struct Normalisation {
  NormalisationMode mode = NormalisationMode::kNone;
  Eigen::VectorXf mean;   // [D]
  Eigen::VectorXf scale;  // [D]

  // pixels: [count, D] uint8 row-major (rows of a data file) -> out [D, count] column-major.
  void apply(const std::uint8_t* pixels, Eigen::Index count, Eigen::MatrixXf& out) const;
  // Same, from values p already in [0, 1] ([D, count], noise may have been added).
  void apply_to_unit(Eigen::MatrixXf& values) const;
  // Network units back to [0, 1] pixel units (exact for none and pixel; for patch the
  // per-sample mean is unknown, so values are mapped back around 0.5).
  void invert(Eigen::MatrixXf& values) const;
  // Factor from a squared error in network units to one in pixel units, per pixel [D].
  Eigen::VectorXf pixel_error_weight() const;
};

}  // namespace aepipe::nn
