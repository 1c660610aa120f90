#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/image_source.hpp"
#include "mpi/communicator.hpp"

namespace aepipe::data {

// Image files under `roots` (data/image_folder.hpp). Collective: rank 0 lists the folders and
// reads the header of the first decodable image, then broadcasts both.
std::unique_ptr<ImageSource> open_folder_source(const std::vector<std::string>& roots,
                                                const mpi::Communicator& comm);

}  // namespace aepipe::data
