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
#include <cstdint>
#include <string>
#include <vector>

#include "stages/context.hpp"

namespace aepipe::stages {

struct EvaluateCodesOptions {
  std::string codes;
  std::string model;       // "" = the model named in the codes file
  std::string input;       // originals; "" = the data file named in the codes file
  bool per_image = false;  // print every image's figures (tiled archives of <= 50 do anyway)
};

// The figures above, the same on every rank (per_image: rank 0 only).
struct CodesQuality {
  std::string data_path;   // the originals compared with
  std::string model_path;  // the model that decoded
  bool tiled = false;
  std::int64_t code_size = 0;
  int bits = 0;                           // 0: float32 codes
  double images = 0;                      // source images of a tiled archive
  double code_bytes = 0, side_bytes = 0;  // stored codes; quantiser + decoder parameters
  double bytes_per_image = 0, bits_per_pixel = 0, bits_per_pixel_with_model = 0;
  double psnr = 0, psnr_mean_image = 0, ssim = 0;
  // Per-image figures of a tiled archive gathered on rank 0 in source order, as records
  // (uint64 name length, name, int64 height, int64 width, double PSNR, double SSIM).
  bool per_image_shown = false;
  std::vector<char> per_image;
};

// Collective: decodes the codes and compares them with the originals (a progress bar unless
// context says quiet); prints nothing and writes no metrics.
CodesQuality measure_codes(const EvaluateCodesOptions& options, const StageContext& context);

// measure_codes, then prints the figures (rank 0) and writes a metrics event.
void run_evaluate_codes(const EvaluateCodesOptions& options, const StageContext& context);

}  // namespace aepipe::stages
