#pragma once
// Pixels to codes and codes to pixels with a trained network, in blocks of a fixed number of
// rows counted from the first row given. Callers start at boundaries that do not depend on
// the rank count (a data file chunk's first row), so every row meets the same block
// composition and therefore the same float rounding whatever the number of ranks.
#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "nn/autoencoder.hpp"
#include "nn/normalisation.hpp"

namespace aepipe::codec {

inline constexpr Eigen::Index kCodingBlock = 256;  // rows per network call

// pixels [count, D] uint8 row-major -> codes [k, count]; for top-k networks also `kept`
// [k, count] (1 where a unit was kept), if asked for.
void encode_pixels(nn::Autoencoder<float>& network, const nn::Normalisation& normalisation,
                   const std::uint8_t* pixels, Eigen::Index count, Eigen::MatrixXf& codes,
                   Eigen::MatrixXf* kept);

// codes [k, count] -> pixels [count, D] uint8 row-major: decoder, inverse normalisation,
// clamped to [0, 1] and rounded to the nearest 8-bit level.
void decode_codes(nn::Autoencoder<float>& network, const nn::Normalisation& normalisation,
                  const Eigen::MatrixXf& codes, std::vector<std::uint8_t>& pixels);

}  // namespace aepipe::codec
