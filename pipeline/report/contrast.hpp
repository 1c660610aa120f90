#pragma once
// Weights shown as grey levels: a first-layer filter (one row of /encoder/0/W, [in] values
// for an [H, W, C] image) has no unit of its own, so each tile is contrast-normalised on its
// own: its mean becomes mid-grey (128) and its largest deviation from the mean black or white.
// The sign stays visible: positive weights are brighter than the mean, negative darker.
#include <cstdint>
#include <span>
#include <vector>

namespace aepipe::report {

// values [n] -> grey levels [n] in 1..255 (all 128 for a constant or non-finite tile).
std::vector<std::uint8_t> contrast_tile(std::span<const float> values);

}  // namespace aepipe::report
