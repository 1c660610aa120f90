#include "nn/normalisation.hpp"

#include "util/error.hpp"

namespace aepipe::nn {

NormalisationMode parse_normalisation(const std::string& text) {
  if (text == "none") return NormalisationMode::kNone;
  if (text == "pixel") return NormalisationMode::kPixel;
  if (text == "patch") return NormalisationMode::kPatch;
  throw UsageError(cat("unknown normalisation '", text, "' (use none, pixel or patch)"));
}

std::string to_string(NormalisationMode mode) {
  switch (mode) {
    case NormalisationMode::kNone:
      return "none";
    case NormalisationMode::kPixel:
      return "pixel";
    case NormalisationMode::kPatch:
      return "patch";
  }
  return "?";
}

void Normalisation::apply(const std::uint8_t* pixels, Eigen::Index count,
                          Eigen::MatrixXf& out) const {
  const Eigen::Index dim = mean.size();
  out.resize(dim, count);
  // Row-major [count, D] bytes are column-major [D, count]: one column per sample.
  Eigen::Map<const Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>> bytes(pixels, dim,
                                                                                      count);
  out = bytes.cast<float>() * (1.0f / 255.0f);
  apply_to_unit(out);
}

void Normalisation::apply_to_unit(Eigen::MatrixXf& values) const {
  switch (mode) {
    case NormalisationMode::kNone:
      break;
    case NormalisationMode::kPixel:
      values.colwise() -= mean;
      values.array().colwise() *= scale.array();
      break;
    case NormalisationMode::kPatch: {
      const float limit = scale(0);
      values.rowwise() -= values.colwise().mean();
      values = (values.array().max(-limit).min(limit) / limit + 1.0f) * 0.4f + 0.1f;
      break;
    }
  }
}

void Normalisation::invert(Eigen::MatrixXf& values) const {
  switch (mode) {
    case NormalisationMode::kNone:
      break;
    case NormalisationMode::kPixel:
      values.array().colwise() /= scale.array();
      values.colwise() += mean;
      break;
    case NormalisationMode::kPatch:
      values = ((values.array() - 0.1f) / 0.4f - 1.0f) * scale(0) + 0.5f;
      break;
  }
}

Eigen::VectorXf Normalisation::pixel_error_weight() const {
  switch (mode) {
    case NormalisationMode::kNone:
      return Eigen::VectorXf::Ones(mean.size());
    case NormalisationMode::kPixel:
      return scale.array().square().inverse();
    case NormalisationMode::kPatch:
      return Eigen::VectorXf::Constant(mean.size(), scale(0) * scale(0) / (0.4f * 0.4f));
  }
  return Eigen::VectorXf::Ones(mean.size());
}

}  // namespace aepipe::nn
