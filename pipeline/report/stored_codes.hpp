#pragma once
// What a block of codes costs as a codes file stores it, for rate points measured outside
// `aepipe encode` (the report's quantised PCA): `aepipe evaluate --codes` counts the bytes
// HDF5 stores for /codes (H5Dget_storage_size: compressed chunks), so the same bytes are
// measured here by writing the values as codec::CodesWriter writes /codes -- the same file
// type (float32, uint8 for <= 8 bits, uint16 above), chunk rows, byte shuffle for float32
// and deflate level -- into a scratch HDF5 file and reading its storage size back.
#include <cstdint>
#include <span>
#include <string>

#include "h5/dataset.hpp"

namespace aepipe::report {

struct StoredCodesLayout {
  std::int64_t rows = 0;        // N codes
  std::int64_t width = 0;       // k values per code
  int bits = 0;                 // 0: float32 values; 1..16: integer levels
  int deflate_level = 9;        // 0..9, as `aepipe encode --deflate`
  std::int64_t chunk_rows = 0;  // as CodesLayout::chunk_rows (0: about 1 MiB of codes)
};

// Stored bytes of `values` [rows, width] row-major float32 (layout.bits == 0) or of `levels`
// [rows, width] row-major (layout.bits in 1..16), written into `scratch` (created, then
// removed; it must not exist). Throws Error naming `scratch` if HDF5 fails.
std::uint64_t stored_code_bytes(std::span<const float> values, const StoredCodesLayout& layout,
                                const std::string& scratch);
std::uint64_t stored_code_bytes(std::span<const std::uint16_t> levels,
                                const StoredCodesLayout& layout, const std::string& scratch);

// The zlib level of a dataset's deflate filter (0 if it has none): the level a codes file
// was written with.
int deflate_level_of(const h5::Dataset& dataset);

}  // namespace aepipe::report
