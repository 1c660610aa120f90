#pragma once
// `aepipe evaluate --codes codes.h5 [--model model.h5] [--input data.h5]`: what a codes file
// costs and how close its decoded images come to the originals:
//   bytes_per_image             stored bytes of the codes (as HDF5 keeps them, compressed)
//   bits_per_pixel              those bytes in bits per original pixel (H*W, all channels)
//   bits_per_pixel_with_model   plus the quantiser and the decoder's float32 parameters,
//                               amortised over the archive
//   psnr                        10 log10(255^2 / MSE), MSE over every pixel of the archive
//   psnr_mean_image, ssim       means over images (tiled archives: over the reassembled
//                               source images, at their original size)
#include <string>

#include "stages/context.hpp"

namespace aepipe::stages {

struct EvaluateCodesOptions {
  std::string codes;
  std::string model;       // "" = the model named in the codes file
  std::string input;       // originals; "" = the data file named in the codes file
  bool per_image = false;  // print every image's figures (tiled archives of <= 50 do anyway)
};

void run_evaluate_codes(const EvaluateCodesOptions& options, const StageContext& context);

}  // namespace aepipe::stages
