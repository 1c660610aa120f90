#pragma once
// `aepipe inspect FILE`: what an aepipe (or any HDF5) file holds: kind, version, attributes,
// datasets with shapes, types, chunks and filters, and a histogram of /labels.
#include <string>

#include "stages/context.hpp"

namespace aepipe::stages {

struct InspectOptions {
  std::string file;
  bool json = false;
};

// Runs on rank 0 (others wait); prints to standard output.
void run_inspect(const InspectOptions& options, const StageContext& context);

}  // namespace aepipe::stages
