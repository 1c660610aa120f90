#include "nn/dataset_pass.hpp"

#include <cstring>

namespace aepipe::nn {

void for_each_chunk(const data::DataFileReader& reader, const data::RowSplit& split,
                    RowSelection selection, int rank, int ranks,
                    const std::function<void(const std::vector<std::uint8_t>& pixels,
                                             const std::vector<std::int64_t>& rows)>& fn) {
  const std::int64_t chunk_rows = split.chunk_rows;
  const std::int64_t chunks = (reader.rows() + chunk_rows - 1) / chunk_rows;
  const auto row_bytes = static_cast<std::size_t>(reader.row_bytes());
  std::vector<std::uint8_t> raw, selected;
  std::vector<std::int64_t> rows;
  for (std::int64_t chunk = rank; chunk < chunks; chunk += ranks) {
    const std::int64_t first = chunk * chunk_rows;
    const std::int64_t count = std::min(reader.rows(), first + chunk_rows) - first;
    raw.resize(static_cast<std::size_t>(count) * row_bytes);
    reader.read_images(first, count, raw.data());
    selected.clear();
    rows.clear();
    for (std::int64_t i = 0; i < count; ++i) {
      const bool validation = split.is_validation(first + i);
      if (selection == RowSelection::kTraining && validation) continue;
      if (selection == RowSelection::kValidation && !validation) continue;
      rows.push_back(first + i);
      selected.insert(selected.end(),
                      raw.begin() + static_cast<long>(static_cast<std::size_t>(i) * row_bytes),
                      raw.begin() + static_cast<long>(static_cast<std::size_t>(i + 1) * row_bytes));
    }
    if (!rows.empty()) fn(selected, rows);
  }
}

}  // namespace aepipe::nn
