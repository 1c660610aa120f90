#pragma once
// The `index` file (DESIGN "Data contracts"). Root attributes:
//   aepipe_format = "index", aepipe_version = 1
//   type  "flat" | "ivf" | "hash"      metric  "l2" | "ip" | "cosine" | "hamming" (hash)
//   dim   vector length d              count   number of database vectors N
//   spec  the canonical spec string    nlist (ivf), bits and method "itq" | "sign" (hash)
// Datasets (rows are vectors; ids are the database's row numbers, each of 0..N-1 once):
//   flat  /vectors float32 [N, d], /ids int64 [N]
//   ivf   /centroids float32 [nlist, d], /list_offsets int64 [nlist + 1] (0 .. N, list l is
//         rows [offsets[l], offsets[l+1])), /ids int64 [N] and /vectors float32 [N, d] sorted
//         by list and within a list by id
//   hash  /bits uint64 [N, words] (words = ceil(bits / 64); bit j in word j / 64, bit j % 64),
//         /ids int64 [N], /mean float32 [d], /rotation float32 [d, bits]
//         (bit j = [(x - mean) · rotation[:, j] >= 0])
// Cosine indexes store unit-length vectors.
// Where the index came from (optional: files written before these were added lack them, and
// readers accept that):
//   attribute codes       the codes file the index was built from (path as given)
//   attribute created_by  "aepipe <version>"
//   /labels int32 [N]     the database's labels (the codes file's /labels), indexed by id, so
//                         query and evaluate can measure precision without the codes file
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "index/index.hpp"
#include "mpi/communicator.hpp"

namespace aepipe::index {

inline constexpr const char* kIndexFormat = "index";
inline constexpr std::int64_t kIndexVersion = 1;

// The optional provenance above.
struct IndexSource {
  std::string codes;                                // "" when unknown
  std::optional<std::vector<std::int32_t>> labels;  // [N] indexed by id, when known
};

// Writes `index` to `path` from this process alone (creating or truncating it). Throws Error
// if source.labels is not [N].
void write_index_file(const std::string& path, const Index& index, const IndexSource& source = {});

// Collective; every rank passes the same index (the source matters on rank 0 only). Rank 0
// writes a temporary file next to `output` and renames it, so the output appears whole or not
// at all (DESIGN rule 3). The caller checks first that `output` may be written
// (check_output_path).
void write_index(const std::string& output, const Index& index, const mpi::Communicator& comm,
                 const IndexSource& source = {});

// Reads and validates an index file (format, version, attributes, shapes, offsets, ids, finite
// values); throws Error naming the file, the dataset and the bad value.
Index read_index_file(const std::string& path);

// What an index file says about itself without its vectors: spec, dim, count and source
// (labels checked to be [count]). Validates the format tag and attributes like
// read_index_file; throws Error naming the file.
struct IndexSummary {
  IndexSpec spec;
  std::int64_t dim = 0;
  std::int64_t count = 0;
  IndexSource source;
};
IndexSummary read_index_summary(const std::string& path);

}  // namespace aepipe::index
