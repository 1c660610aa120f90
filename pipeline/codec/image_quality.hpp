#pragma once
// Image-quality figures of a decoded image against its original, both uint8 [H, W, C].
//   squared error  sum over pixels and channels of (a - b)^2, in 8-bit units
//   PSNR           10 log10(255^2 / MSE)
//   SSIM           Wang, Bovik, Sheikh & Simoncelli (2004): 11x11 Gaussian window with
//                  sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255, population (co)variances, the
//                  mean over every position where the window fits inside the image, averaged
//                  over channels (as scikit-image's structural_similarity with
//                  gaussian_weights=True, use_sample_covariance=False, data_range=255).
//                  Images narrower than 11 pixels use the largest odd window that fits.
#include <cstdint>

#include "data/image.hpp"

namespace aepipe::codec {

double squared_error(const std::uint8_t* a, const std::uint8_t* b, std::size_t bytes);
double psnr_from_mse(double mse);  // +inf for mse == 0
double ssim(const std::uint8_t* a, const std::uint8_t* b, const data::ImageShape& shape);

}  // namespace aepipe::codec
