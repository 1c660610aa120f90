#pragma once
// The `codes` file contract (DESIGN.md), version 1:
//   root attributes  aepipe_format="codes", aepipe_version=1, rows N, code_size k,
//                    storage ("dense" or "sparse"), bits (0: float32 values), kept (sparse:
//                    values per row), model (path as given to encode), model_kind,
//                    model_architecture, source (the data file encoded), height, width,
//                    channels (of the images), created_by
//   dense   /codes    [N, k]  float32, or uint8 (bits <= 8) / uint16 (bits <= 16) levels
//   sparse  /indices  [N, t]  uint16 (k <= 65536) or uint32, ascending in each row
//           /values   [N, t]  float32 or levels as above, value of code unit indices[i, j]
//   quantised  /scale, /offset  float32 [k]: code value = offset[j] + scale[j] * level
//   /labels int32 [N], /names string [N] copied from the data file when it has them;
//   /tiles int64 [N, 4] and /sources (data/source_table.hpp) for tiled archives, which
//   carry no /names: tile i is "<sources[tiles[i, 0]].name>@<row>,<col>" as in the data file.
// Every code dataset is chunked along N with deflate (and byte shuffle for float32), so
// its stored size is what the codes really cost.
#include <cstdint>
#include <string>

#include "data/image.hpp"

namespace aepipe::codec {

inline constexpr const char* kCodesFormat = "codes";
inline constexpr std::int64_t kCodesVersion = 1;

struct CodesLayout {
  std::int64_t rows = 0;       // N
  std::int64_t code_size = 0;  // k
  std::int64_t kept = 0;       // > 0: sparse storage of this many values per row
  int bits = 0;                // 0: float32
  bool labels = false;
  bool tiles = false;
  int deflate_level = 9;
  bool sparse() const { return kept > 0; }
  std::int64_t values_per_row() const { return sparse() ? kept : code_size; }
};

struct CodesOrigin {
  std::string model;
  std::string model_kind;
  std::string model_architecture;
  std::string source;  // the data file
  data::ImageShape image_shape;
};

}  // namespace aepipe::codec
