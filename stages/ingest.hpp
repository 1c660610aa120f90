#pragma once
// `aepipe ingest`: image archives (IDX files, image folders, HDF5 datasets) to a `data` file,
// decoded and written by all ranks.
#include <cstdint>
#include <string>
#include <vector>

#include "stages/context.hpp"

namespace aepipe::stages {

struct IngestOptions {
  std::vector<std::string> inputs;  // IDX files, folders, or file.h5[:/dataset]
  std::vector<std::string> labels;  // IDX label files (may also be given among inputs)
  std::string output;
  bool grayscale = false;
  int resize_height = 0;  // --resize HxW; 0: keep
  int resize_width = 0;
  int tile = 0;       // --tile N: N x N tiles; 0: whole images
  int patches = 0;    // --patches N: N x N random patches
  int per_image = 0;  // --per-image M: patches per image
  bool skip_bad = false;
  std::int64_t batch = 0;        // items per rank per round; 0: from buffer_mb
  std::int64_t buffer_mb = 256;  // decoded rows held per rank per round, MiB
  int deflate = 1;               // zlib level: 1 is ~20% faster than 4 for 2% more bytes
  std::int64_t chunk_kb = 1024;  // target /images chunk size, KiB
};

// Throws UsageError naming the option and value if the options are inconsistent.
void validate(const IngestOptions& options);

void run_ingest(const IngestOptions& options, const StageContext& context);

}  // namespace aepipe::stages
