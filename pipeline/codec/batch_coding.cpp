#include "codec/batch_coding.hpp"

#include <algorithm>
#include <cmath>

#include "util/error.hpp"

namespace aepipe::codec {

void encode_pixels(nn::Autoencoder<float>& network, const nn::Normalisation& normalisation,
                   const std::uint8_t* pixels, Eigen::Index count, Eigen::MatrixXf& codes,
                   Eigen::MatrixXf* kept) {
  const Eigen::Index dim = network.architecture().input_size();
  const Eigen::Index k = network.architecture().code_size();
  const bool top_k = network.objective().sparsity == nn::Sparsity::kTopK;
  codes.resize(k, count);
  if (kept) kept->setOnes(k, count);
  Eigen::MatrixXf input;
  for (Eigen::Index first = 0; first < count; first += kCodingBlock) {
    const Eigen::Index block = std::min(kCodingBlock, count - first);
    normalisation.apply(pixels + first * dim, block, input);
    codes.middleCols(first, block) = network.encode(input);
    if (kept && top_k) kept->middleCols(first, block) = network.top_k_mask();
  }
}

void decode_codes(nn::Autoencoder<float>& network, const nn::Normalisation& normalisation,
                  const Eigen::MatrixXf& codes, std::vector<std::uint8_t>& pixels) {
  const Eigen::Index dim = network.architecture().input_size();
  const Eigen::Index count = codes.cols();
  pixels.resize(static_cast<size_t>(dim * count));
  Eigen::MatrixXf block_codes, output;
  for (Eigen::Index first = 0; first < count; first += kCodingBlock) {
    const Eigen::Index block = std::min(kCodingBlock, count - first);
    block_codes = codes.middleCols(first, block);
    output = network.decode(block_codes);
    normalisation.invert(output);
    // Column j is row first + j of the row-major output: contiguous D bytes.
    std::uint8_t* out = pixels.data() + first * dim;
    const float* values = output.data();
    for (Eigen::Index i = 0; i < dim * block; ++i) {
      // Written so a NaN maps to 0 (clamp would pass it through to lround).
      const float value = values[i] > 0.0f ? std::min(values[i], 1.0f) : 0.0f;
      out[i] = static_cast<std::uint8_t>(std::lround(value * 255.0f));
    }
  }
}

}  // namespace aepipe::codec
