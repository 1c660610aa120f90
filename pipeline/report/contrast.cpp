#include "report/contrast.hpp"

#include <algorithm>
#include <cmath>

namespace aepipe::report {

std::vector<std::uint8_t> contrast_tile(std::span<const float> values) {
  std::vector<std::uint8_t> levels(values.size(), 128);
  double mean = 0;
  for (const float value : values) mean += value;
  mean /= static_cast<double>(std::max<std::size_t>(values.size(), 1));
  double largest = 0;
  for (const float value : values) largest = std::max(largest, std::abs(value - mean));
  if (!(largest > 0) || !std::isfinite(largest)) return levels;
  for (std::size_t i = 0; i < values.size(); ++i)
    levels[i] =
        static_cast<std::uint8_t>(std::lround(128.0 + 127.0 * (values[i] - mean) / largest));
  return levels;
}

}  // namespace aepipe::report
