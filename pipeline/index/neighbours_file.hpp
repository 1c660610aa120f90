#pragma once
// The `neighbours` file (DESIGN "Data contracts"): what `aepipe query` found. Root attributes:
//   aepipe_format = "neighbours", aepipe_version = 1
//   rows           Q, the queries    k        neighbours per query
//   index          the index file searched (path as given)
//   queries        the queries file: a codes file, or a data file encoded with `model`
//   model          the model that encoded image queries ("" for codes queries)
//   spec           the index's canonical spec (index/spec.hpp)
//   metric         l2 | ip | cosine | hamming: how /distances order (see below)
//   nprobe         inverted lists scanned per query (ivf; 0 for other kinds)
//   created_by     "aepipe <version>"
// Datasets (row q is query q, the queries file's row q):
//   /ids           int64 [Q, k]   database ids (rows of the indexed codes file), best first;
//                                 -1 where the index holds fewer than k vectors
//   /distances     float32 [Q, k] squared L2 or Hamming distance (ascending), or inner
//                                 product / cosine similarity (descending); +inf (distances)
//                                 or -inf (similarities) where the id is -1
//   /query_labels  int32 [Q]      the queries' labels, when the queries file has them
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "h5/dataset.hpp"
#include "h5/file.hpp"
#include "index/spec.hpp"
#include "index/types.hpp"
#include "mpi/communicator.hpp"

namespace aepipe::index {

inline constexpr const char* kNeighboursFormat = "neighbours";
inline constexpr std::int64_t kNeighboursVersion = 1;

struct NeighboursInfo {
  std::int64_t rows = 0;  // Q
  std::int64_t k = 0;
  std::string index;
  std::string queries;
  std::string model;
  std::string spec;
  Metric metric = Metric::kL2;
  std::int64_t nprobe = 0;
};

// Writes a neighbours file collectively, every rank its own rows, to a temporary file next to
// the output that is renamed when every rank has closed it (DESIGN rule 3). The caller checks
// first that `output` may be written (check_output_path).
class NeighboursWriter {
 public:
  // Collective; every rank passes the same values.
  NeighboursWriter(const mpi::Communicator& comm, std::string output, const NeighboursInfo& info,
                   bool query_labels);
  // Not finished: removes the temporary file. Reached while unwinding from an agreed failure,
  // when every rank is here, so the collective close is safe.
  ~NeighboursWriter();
  NeighboursWriter(const NeighboursWriter&) = delete;
  NeighboursWriter& operator=(const NeighboursWriter&) = delete;

  // Collective: rows [first, first + found.queries) get `found` ([n, k]) and `labels` ([n],
  // ignored without query labels). A rank with nothing to write passes n = 0.
  void write(std::int64_t first, const Neighbours& found, std::span<const std::int32_t> labels);
  // Collective: closes the file and renames it to the output.
  void finish();

 private:
  const mpi::Communicator& comm_;
  std::string output_;
  std::string temporary_;
  std::int64_t k_;
  std::optional<h5::File> file_;
  std::optional<h5::Dataset> ids_, distances_, labels_;
  bool finished_ = false;
};

// A neighbours file read whole and validated (format, version, attributes, shapes; ids >= -1;
// no NaN distances). Throws Error naming the file, the dataset and the bad value.
struct NeighboursFile {
  NeighboursInfo info;
  Neighbours neighbours;                                  // [Q, k]
  std::optional<std::vector<std::int32_t>> query_labels;  // [Q]
};
NeighboursFile read_neighbours_file(const std::string& path);

}  // namespace aepipe::index
