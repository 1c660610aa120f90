#pragma once
// One pass over the rows of a data file split across ranks by chunk (rank r takes chunks
// r, r+P, ...), optionally skipping held-out rows: the access pattern of statistics, PCA,
// validation and evaluation. fn(pixels [count, D] uint8, rows) is called per chunk.
#include <cstdint>
#include <functional>
#include <vector>

#include "data/data_file_reader.hpp"
#include "data/epoch_order.hpp"

namespace aepipe::nn {

enum class RowSelection { kTraining, kValidation, kAll };

void for_each_chunk(const data::DataFileReader& reader, const data::RowSplit& split,
                    RowSelection selection, int rank, int ranks,
                    const std::function<void(const std::vector<std::uint8_t>& pixels,
                                             const std::vector<std::int64_t>& rows)>& fn);

}  // namespace aepipe::nn
