#pragma once
// The rows one rank contributes to a data file in one round, in global row order.
#include <cstdint>
#include <string>
#include <vector>

namespace aepipe::data {

// One source image of a tiled archive (a row of /sources).
struct SourceRecord {
  std::string name;
  std::int64_t height = 0;
  std::int64_t width = 0;
};

struct RowBatch {
  std::vector<std::uint8_t> pixels;  // [rows, H, W, C] uint8
  std::vector<std::int32_t> labels;  // [rows], -1 where unknown
  std::vector<std::string> names;    // [rows]
  // [rows, 4] = (source index within this batch's `sources`, row, col, 0); tiled data only.
  std::vector<std::int64_t> tiles;
  std::vector<SourceRecord> sources;

  std::int64_t rows() const { return static_cast<std::int64_t>(labels.size()); }
  void clear() { *this = RowBatch{}; }
};

}  // namespace aepipe::data
