#pragma once
// The /sources table of tiled files (data, codes): one compound row per source image,
//   {name: variable-length UTF-8 string, height: int64, width: int64}   shape [S]
// Tiles of source s are the rows whose /tiles[i, 0] == s. Variable-length strings cannot be
// written by parallel HDF5 1.10, so the table is written from one process.
#include <vector>

#include "data/row_batch.hpp"
#include "h5/dataset.hpp"

namespace aepipe::data {

// Creates /sources with `rows` rows in a serially opened file.
h5::Dataset create_source_table(const h5::File& file, hsize_t rows, int deflate_level);
void write_sources(h5::Dataset& table, hsize_t first, const std::vector<SourceRecord>& sources);
// Rows [first, first + count); throws naming the dataset if it is not such a table.
std::vector<SourceRecord> read_sources(const h5::Dataset& table, hsize_t first, hsize_t count);

// Copies /names (unless `names` is false), and /sources and /classes when present, from one
// serially opened file to another in pieces of bounded size.
void copy_row_strings(const h5::File& from, const h5::File& to, int deflate_level,
                      bool names = true);

}  // namespace aepipe::data
