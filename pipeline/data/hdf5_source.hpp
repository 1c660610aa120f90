#pragma once
#include <memory>
#include <string>

#include "data/image_source.hpp"
#include "mpi/communicator.hpp"

namespace aepipe::data {

// Rows of an existing HDF5 dataset [N, H, W] or [N, H, W, C] (C in {1, 3}), opened in
// parallel by every rank (collective). Integer data must lie in 0..255; floating-point data is
// taken as intensities in [0, 1] and scaled by 255. A sibling 1-D integer dataset `labels`
// (and string dataset `names`) of N rows in the same group is carried over.
std::unique_ptr<ImageSource> open_hdf5_source(const std::string& path, const std::string& dataset,
                                              const mpi::Communicator& comm);

}  // namespace aepipe::data
