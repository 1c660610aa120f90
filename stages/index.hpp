#pragma once
// `aepipe index --input codes.h5 --output index.h5 --type SPEC`: builds a retrieval index over
// a codes file's vectors (index/spec.hpp: flat, ivf:NLIST, hash:BITS, with a metric) and writes
// it as an `index` file (index/index_file.hpp). Every rank reads a contiguous slice of the
// codes (quantised and sparse codes are turned back into dense floats) and the index is built
// collectively; it is identical for any rank count. The index file records the codes file it
// came from and copies its /labels.
#include <cstdint>
#include <string>

#include "stages/context.hpp"

namespace aepipe::stages {

struct IndexOptions {
  std::string input;   // codes file
  std::string output;  // index file
  std::string type = "flat";
  int kmeans_iterations = 20;             // ivf: Lloyd iterations
  std::int64_t sample_per_list = 256;     // ivf: k-means training points per list
  int itq_iterations = 50;                // hash: ITQ iterations
  std::int64_t hash_sample_rows = 16384;  // hash: rows the projection is learned on
};

void run_index(const IndexOptions& options, const StageContext& context);

}  // namespace aepipe::stages
