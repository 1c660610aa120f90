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
#include <algorithm>
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
  // Rows per chunk of the code datasets (and /labels, /tiles); 0: about 1 MiB of codes. A
  // writer whose every write covers whole chunks spares HDF5 rewriting them: parallel HDF5
  // writes a filtered chunk by reading, inflating, changing and deflating it again.
  std::int64_t chunk_rows = 0;
  bool sparse() const { return kept > 0; }
  std::int64_t values_per_row() const { return sparse() ? kept : code_size; }
};

// The chunk rows (CodesLayout::chunk_rows) encode gives the code datasets of a data file of
// `rows` images in chunks of `data_chunk_rows` images of `row_bytes` bytes: a whole number of
// data-file chunks, so that each rank writes whole chunks of codes (parallel HDF5 writes part
// of a deflated chunk by inflating and deflating it again, which took 35% of encoding the
// 60,000 Fashion images): enough for about 1 MiB of stored codes, at most 64 MiB of images,
// and at least 16 writes in all (work for 16 ranks). 0 (about 1 MiB of codes per chunk, one
// write per data-file chunk) where that leaves less than two data-file chunks, as for data
// files of fewer than 32 chunks.
inline std::int64_t code_chunk_rows(std::int64_t rows, std::int64_t data_chunk_rows,
                                    std::int64_t row_bytes, const CodesLayout& layout) {
  const std::int64_t value_bytes = layout.bits == 0 ? 4 : layout.bits <= 8 ? 1 : 2;
  const std::int64_t code_rows = (std::int64_t{1} << 20) / (layout.values_per_row() * value_bytes);
  const std::int64_t image_rows = (std::int64_t{64} << 20) / (row_bytes > 0 ? row_bytes : 1);
  const std::int64_t chunks = (rows + data_chunk_rows - 1) / data_chunk_rows;
  const std::int64_t group =
      std::min(std::min(code_rows, image_rows) / data_chunk_rows, chunks / 16);
  return group >= 2 ? group * data_chunk_rows : 0;
}

struct CodesOrigin {
  std::string model;
  std::string model_kind;
  std::string model_architecture;
  std::string source;  // the data file
  data::ImageShape image_shape;
};

}  // namespace aepipe::codec
