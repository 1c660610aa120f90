#pragma once
// `aepipe evaluate --neighbours n.h5 [--index index.h5] [--exact exact.h5] [--k K]`: the
// retrieval quality of a neighbours file (index/neighbours_file.hpp):
//   recall_at_<k>           mean over queries of |found top-k ∩ exact top-k| / k, the exact
//                           neighbours from exact search over the index's own vectors (flat
//                           and IVF indexes store them), or from --exact (the neighbours file
//                           of a flat index's query: needed for hash indexes)
//   precision_at_<k>        mean over queries of the share of the first k neighbours whose
//                           label is the query's (index /labels vs the file's /query_labels)
//   mean_average_precision  mean over queries of AP@k (index/evaluation.hpp)
// Figures that cannot be computed (no labels, no vectors) are reported as not available.
#include <cstdint>
#include <optional>
#include <string>

#include "index/neighbours_file.hpp"

#include "stages/context.hpp"

namespace aepipe::stages {

struct EvaluateNeighboursOptions {
  std::string neighbours;
  std::string index;    // "" = the index the neighbours file names
  std::string exact;    // exact neighbours of the same queries ("" = exact search here)
  std::string queries;  // "" = the queries file the neighbours file names
  std::string model;    // "" = the model the neighbours file names (image queries)
  std::int64_t k = 0;   // 0 = the neighbours file's k
};

// A figure, or why it is missing.
struct NeighboursFigure {
  std::optional<double> value;
  std::string note;  // where it comes from, or why it is not available
};

// The figures above, the same on every rank.
struct NeighboursQuality {
  index::NeighboursInfo info;  // of the neighbours file
  std::string index_path;      // the index searched (as given, or as the file names it)
  std::int64_t k = 0;          // the figures' k
  NeighboursFigure recall, precision, average_precision;
};

// Collective: measures the figures (a progress bar unless context says quiet); prints nothing
// and writes no metrics.
NeighboursQuality measure_neighbours(const EvaluateNeighboursOptions& options,
                                     const StageContext& context);

// measure_neighbours, then prints the figures (rank 0) and writes a metrics event.
void run_evaluate_neighbours(const EvaluateNeighboursOptions& options, const StageContext& context);

}  // namespace aepipe::stages
