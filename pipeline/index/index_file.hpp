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
#include <cstdint>
#include <string>

#include "index/index.hpp"
#include "mpi/communicator.hpp"

namespace aepipe::index {

inline constexpr const char* kIndexFormat = "index";
inline constexpr std::int64_t kIndexVersion = 1;

// Writes `index` to `path` from this process alone (creating or truncating it).
void write_index_file(const std::string& path, const Index& index);

// Collective; every rank passes the same index. Rank 0 writes a temporary file next to
// `output` and renames it, so the output appears whole or not at all (DESIGN rule 3).
// The caller checks first that `output` may be written (check_output_path).
void write_index(const std::string& output, const Index& index, const mpi::Communicator& comm);

// Reads and validates an index file (format, version, attributes, shapes, offsets, ids, finite
// values); throws Error naming the file, the dataset and the bad value.
Index read_index_file(const std::string& path);

}  // namespace aepipe::index
