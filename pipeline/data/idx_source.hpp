#pragma once
#include <memory>
#include <string>

#include "data/image_source.hpp"

namespace aepipe::data {

// Images from an IDX file of unsigned bytes, [N, H, W] or [N, H, W, C] with C in {1, 3},
// with labels from an optional one-dimensional integer IDX file of N rows. Names are
// "<file name>:<row>". Opening reads only the headers (every rank does it).
std::unique_ptr<ImageSource> open_idx_source(const std::string& images_path,
                                             const std::string& labels_path);

}  // namespace aepipe::data
