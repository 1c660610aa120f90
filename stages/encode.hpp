#pragma once
// `aepipe encode --input data.h5 --model model.h5 --output codes.h5 [--bits B]`: every rank
// encodes its share of the data file's chunks and the codes are written collectively to a
// `codes` file (codec/codes_file.hpp). With --bits the codes are quantised per dimension,
// with ranges learned from a sample of codes that does not depend on the rank count; top-k
// models store their codes sparsely (indices + values).
#include <cstdint>
#include <string>

#include "stages/context.hpp"

namespace aepipe::stages {

struct EncodeOptions {
  std::string input;
  std::string model;
  std::string output;
  int bits = 0;                        // 0: float32 codes
  bool dense = false;                  // store top-k codes densely
  int deflate = 6;                     // zlib level of the code datasets
  std::int64_t sample_rows = 1 << 16;  // at most this many rows fit the quantiser
};

void run_encode(const EncodeOptions& options, const StageContext& context);

}  // namespace aepipe::stages
