#pragma once
// `aepipe decode --input codes.h5 --model model.h5 --output images.h5 [--png DIR]`: codes back
// to images with the model's decoder, written as a `data` file (tiles and sources kept for
// tiled archives) and/or as PNG files: one per row, or for tiled archives one per source
// image, reassembled at its original size.
#include <cstdint>
#include <string>

#include "stages/context.hpp"

namespace aepipe::stages {

struct DecodeOptions {
  std::string input;   // codes file
  std::string model;   // "" = the model named in the codes file
  std::string output;  // data file ("" = none)
  std::string png;     // folder for PNG files ("" = none)
  int deflate = 1;
  std::int64_t buffer_mb = 64;  // decoded pixels each rank holds per round
};

void run_decode(const DecodeOptions& options, const StageContext& context);

}  // namespace aepipe::stages
