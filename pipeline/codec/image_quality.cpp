#include "codec/image_quality.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace aepipe::codec {
namespace {

constexpr double kSigma = 1.5;
constexpr int kRadius = 5;  // 11 taps: scikit-image truncates its Gaussian at 3.5 sigma

std::vector<double> gaussian_taps(int radius) {
  std::vector<double> taps(static_cast<size_t>(2 * radius + 1));
  double sum = 0;
  for (int i = -radius; i <= radius; ++i) {
    taps[static_cast<size_t>(i + radius)] = std::exp(-0.5 * i * i / (kSigma * kSigma));
    sum += taps[static_cast<size_t>(i + radius)];
  }
  for (double& tap : taps) tap /= sum;
  return taps;
}

// Gaussian-weighted means over every window that fits: in [h, w] -> out [h - 2r, w - 2r].
void filter_valid(const std::vector<double>& in, int height, int width,
                  const std::vector<double>& taps, std::vector<double>& rows_pass,
                  std::vector<double>& out) {
  const int radius = static_cast<int>(taps.size() / 2);
  const int out_h = height - 2 * radius, out_w = width - 2 * radius;
  rows_pass.assign(static_cast<size_t>(height) * static_cast<size_t>(out_w), 0.0);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < out_w; ++x) {
      double sum = 0;
      for (size_t t = 0; t < taps.size(); ++t)
        sum += taps[t] *
               in[static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x) + t];
      rows_pass[static_cast<size_t>(y) * static_cast<size_t>(out_w) + static_cast<size_t>(x)] = sum;
    }
  out.assign(static_cast<size_t>(out_h) * static_cast<size_t>(out_w), 0.0);
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x) {
      double sum = 0;
      for (size_t t = 0; t < taps.size(); ++t)
        sum += taps[t] * rows_pass[(static_cast<size_t>(y) + t) * static_cast<size_t>(out_w) +
                                   static_cast<size_t>(x)];
      out[static_cast<size_t>(y) * static_cast<size_t>(out_w) + static_cast<size_t>(x)] = sum;
    }
}

}  // namespace

double squared_error(const std::uint8_t* a, const std::uint8_t* b, std::size_t bytes) {
  std::int64_t sum = 0;
  for (std::size_t i = 0; i < bytes; ++i) {
    const int difference = int{a[i]} - int{b[i]};
    sum += difference * difference;
  }
  return static_cast<double>(sum);
}

double psnr_from_mse(double mse) {
  return mse > 0 ? 10.0 * std::log10(255.0 * 255.0 / mse) : std::numeric_limits<double>::infinity();
}

double ssim(const std::uint8_t* a, const std::uint8_t* b, const data::ImageShape& shape) {
  const int height = shape.height, width = shape.width, channels = shape.channels;
  const int radius = std::min(kRadius, (std::min(height, width) - 1) / 2);
  const std::vector<double> taps = gaussian_taps(radius);
  const double c1 = std::pow(0.01 * 255.0, 2), c2 = std::pow(0.03 * 255.0, 2);
  const size_t plane = static_cast<size_t>(height) * static_cast<size_t>(width);
  std::vector<double> x(plane), y(plane), xx(plane), yy(plane), xy(plane), scratch;
  std::vector<double> mx, my, mxx, myy, mxy;
  double total = 0;
  for (int c = 0; c < channels; ++c) {
    for (size_t p = 0; p < plane; ++p) {
      x[p] = a[p * static_cast<size_t>(channels) + static_cast<size_t>(c)];
      y[p] = b[p * static_cast<size_t>(channels) + static_cast<size_t>(c)];
      xx[p] = x[p] * x[p];
      yy[p] = y[p] * y[p];
      xy[p] = x[p] * y[p];
    }
    filter_valid(x, height, width, taps, scratch, mx);
    filter_valid(y, height, width, taps, scratch, my);
    filter_valid(xx, height, width, taps, scratch, mxx);
    filter_valid(yy, height, width, taps, scratch, myy);
    filter_valid(xy, height, width, taps, scratch, mxy);
    double sum = 0;
    for (size_t i = 0; i < mx.size(); ++i) {
      const double vx = mxx[i] - mx[i] * mx[i], vy = myy[i] - my[i] * my[i];
      const double cov = mxy[i] - mx[i] * my[i];
      sum += ((2 * mx[i] * my[i] + c1) * (2 * cov + c2)) /
             ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2));
    }
    total += sum / static_cast<double>(mx.size());
  }
  return total / channels;
}

}  // namespace aepipe::codec
