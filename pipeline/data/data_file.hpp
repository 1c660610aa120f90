#pragma once
// The `data` file contract (DESIGN.md), version 1:
//   root attributes  aepipe_format="data", aepipe_version=1, height, width, channels (int64),
//                    rows (int64), source (string: what was ingested), skipped_inputs (int64),
//                    created_by (string: "aepipe <version>")
//   /images   uint8  [N, H, W, C], chunked along N, deflate
//   /labels   int32  [N]            when labels are known (-1 for an unlabelled row)
//   /names    string [N]            variable-length UTF-8: source file, IDX row, tile or patch
//   /classes  string [K]            class names; label i is classes[i] (image folders)
//   /tiles    int64  [N, 4]         tiled data: (source image, row, col, 0), pixel offsets
//   /sources  compound [S] {name: string, height: int64, width: int64}   tiled data
#include <cstdint>
#include <string>
#include <vector>

#include "data/image.hpp"

namespace aepipe::data {

inline constexpr const char* kDataFormat = "data";
inline constexpr std::int64_t kDataVersion = 1;

struct DataFileLayout {
  ImageShape row_shape;
  bool labels = false;
  bool tiles = false;
  int deflate_level = 4;
  std::uint64_t chunk_bytes = 1 << 20;  // target size of an /images chunk
};

}  // namespace aepipe::data
