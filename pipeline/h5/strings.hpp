#pragma once
// Variable-length UTF-8 string datasets of shape [N] (h5py reads them as str/bytes arrays).
// Parallel HDF5 1.10 cannot write variable-length data, so these are written from one
// process on a serially opened file.
#include <span>
#include <string>
#include <vector>

#include "h5/dataset.hpp"

namespace aepipe::h5 {

// The in-memory and in-file type of our strings (caller owns the handle).
Handle string_type();

Dataset create_string_dataset(const File& file, const std::string& name, hsize_t rows,
                              const DatasetLayout& layout);
void write_strings(Dataset& dataset, hsize_t first, std::span<const std::string> values);
std::vector<std::string> read_strings(const Dataset& dataset, hsize_t first, hsize_t count);

}  // namespace aepipe::h5
