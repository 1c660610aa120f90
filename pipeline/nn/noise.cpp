#include "nn/noise.hpp"

#include <charconv>
#include <cmath>

#include "data/epoch_order.hpp"
#include "util/error.hpp"

namespace aepipe::nn {
namespace {

double unit_draw(std::uint64_t bits) {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

}  // namespace

Noise parse_noise(const std::string& spec) {
  Noise noise;
  if (spec.empty() || spec == "none") return noise;
  const size_t colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  const std::string level = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (kind == "gaussian")
    noise.kind = Noise::Kind::kGaussian;
  else if (kind == "mask")
    noise.kind = Noise::Kind::kMask;
  else if (kind == "saltpepper")
    noise.kind = Noise::Kind::kSaltPepper;
  else
    throw UsageError(cat("invalid noise '", spec,
                         "': use gaussian:SIGMA, mask:P or saltpepper:P, e.g. mask:0.3"));
  const auto result = std::from_chars(level.data(), level.data() + level.size(), noise.level);
  if (level.empty() || result.ec != std::errc() || result.ptr != level.data() + level.size() ||
      !(noise.level >= 0) || (noise.kind != Noise::Kind::kGaussian && noise.level > 1))
    throw UsageError(cat("invalid noise '", spec, "': the level must be a number",
                         noise.kind == Noise::Kind::kGaussian ? " >= 0" : " in [0, 1]"));
  return noise;
}

std::string Noise::describe() const {
  switch (kind) {
    case Kind::kNone:
      return "none";
    case Kind::kGaussian:
      return cat("gaussian:", level);
    case Kind::kMask:
      return cat("mask:", level);
    case Kind::kSaltPepper:
      return cat("saltpepper:", level);
  }
  return "?";
}

void Noise::apply(Eigen::MatrixXf& values, const std::vector<std::int64_t>& rows,
                  std::uint64_t seed, std::int64_t epoch) const {
  if (kind == Kind::kNone || level == 0) return;
  const std::uint64_t base =
      data::mix64(seed ^ data::mix64(static_cast<std::uint64_t>(epoch) + 17));
  for (Eigen::Index column = 0; column < values.cols(); ++column) {
    std::uint64_t state =
        data::mix64(base ^ static_cast<std::uint64_t>(rows[static_cast<size_t>(column)]));
    float* value = values.col(column).data();
    for (Eigen::Index i = 0; i < values.rows(); ++i) {
      state = data::mix64(state);
      const double u = unit_draw(state);
      switch (kind) {
        case Kind::kGaussian: {
          // Box-Muller from two independent draws.
          state = data::mix64(state);
          const double v = unit_draw(state);
          value[i] += static_cast<float>(level * std::sqrt(-2.0 * std::log1p(-u)) *
                                         std::cos(6.283185307179586 * v));
          break;
        }
        case Kind::kMask:
          if (u < level) value[i] = 0.0f;
          break;
        case Kind::kSaltPepper:
          if (u < level) value[i] = u < level / 2 ? 0.0f : 1.0f;
          break;
        case Kind::kNone:
          break;
      }
    }
  }
}

void uniform_code_noise(Eigen::MatrixXf& out, Eigen::Index units,
                        std::span<const std::int64_t> rows, std::uint64_t seed, std::int64_t epoch,
                        double width) {
  out.resize(units, static_cast<Eigen::Index>(rows.size()));
  // Streams apart from the input noise's: a different constant in the epoch key.
  const std::uint64_t base =
      data::mix64(seed ^ data::mix64(static_cast<std::uint64_t>(epoch) + 0x636f6465));
  for (Eigen::Index column = 0; column < out.cols(); ++column) {
    std::uint64_t state =
        data::mix64(base ^ static_cast<std::uint64_t>(rows[static_cast<size_t>(column)]));
    for (Eigen::Index i = 0; i < units; ++i) {
      state = data::mix64(state);
      out(i, column) = static_cast<float>(width * (unit_draw(state) - 0.5));
    }
  }
}

}  // namespace aepipe::nn
