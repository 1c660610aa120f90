#include "stages/evaluate_neighbours.hpp"

#include <chrono>
#include <cmath>
#include <optional>

#include "index/evaluation.hpp"
#include "index/index.hpp"
#include "index/index_file.hpp"
#include "index/neighbours_file.hpp"
#include "mpi/agreement.hpp"
#include "stages/chunk_rounds.hpp"
#include "stages/query.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/progress.hpp"
#include "util/recorded_path.hpp"

namespace aepipe::stages {
namespace {

using Clock = std::chrono::steady_clock;

// Rows [first, first + count) of `all` ([Q, k]).
index::Neighbours rows_of(const index::Neighbours& all, std::int64_t first, std::int64_t count) {
  index::Neighbours part;
  part.resize(count, all.k);
  std::copy_n(all.ids_of(first), count * all.k, part.ids.begin());
  std::copy_n(all.distances_of(first), count * all.k, part.distances.begin());
  return part;
}

// The index as exact search over its vectors: a flat index is one already, an IVF index keeps
// its vectors (in list order, with their ids). Hash indexes keep only bits: nullopt.
std::optional<index::FlatIndex> exact_index(index::Index searched) {
  if (auto* flat = std::get_if<index::FlatIndex>(&searched)) return std::move(*flat);
  if (auto* ivf = std::get_if<index::IvfIndex>(&searched))
    return index::make_flat(std::move(ivf->vectors), std::move(ivf->ids), ivf->metric, true);
  return std::nullopt;
}

// Collective: recall@k of `found` against exact search of its queries over `exact`, the
// queries dealt to the ranks in blocks as `query` deals them.
double recall_by_exact_search(const index::NeighboursFile& found, const index::FlatIndex& exact,
                              const std::string& queries_path, const std::string& model_path,
                              const std::string& index_path, std::int64_t k,
                              const StageContext& context) {
  const auto& comm = context.comm;
  QuerySource queries(queries_path, model_path, exact.dim(), index_path, comm);
  mpi::collectively(comm, [&] {
    if (queries.rows() != found.info.rows)
      throw Error(cat(queries_path, " holds ", queries.rows(), " queries but the neighbours file ",
                      "has ", found.info.rows, " (give the queries it was made from: --input)"));
  });
  index::SearchOptions options;
  options.k = k;
  options.batch = kQueryBlock;
  const ChunkRounds blocks{found.info.rows, kQueryBlock};
  Progress progress("evaluate", found.info.rows, "queries", context.show_progress());
  index::RowMatrixXf vectors;
  std::vector<std::int32_t> labels;
  std::int64_t hits = 0;  // neighbours of the exact top k found, over this rank's queries
  for (std::int64_t round = 0; round < blocks.rounds(comm.size()); ++round) {
    const auto [first, count] = blocks.rows_of(round, comm.rank(), comm.size());
    mpi::collectively(comm, [&] {
      if (count == 0) return;
      queries.read(first, count, vectors, labels);
      const index::Neighbours truth = index::search_flat(exact, vectors, options);
      const double recall = index::recall_at_k(rows_of(found.neighbours, first, count), truth, k);
      hits += std::llround(recall * static_cast<double>(count * k));
    });
    progress.update(std::min(found.info.rows, (round + 1) * comm.size() * kQueryBlock));
  }
  progress.finish();
  const std::int64_t total_hits = comm.allreduce_sum(hits);
  return static_cast<double>(total_hits) / static_cast<double>(found.info.rows * k);
}

}  // namespace

NeighboursQuality measure_neighbours(const EvaluateNeighboursOptions& options,
                                     const StageContext& context) {
  if (options.neighbours.empty()) throw UsageError("no neighbours given (--neighbours n.h5)");
  if (options.k < 0) throw UsageError(cat("--k must be at least 1, got ", options.k));
  const auto& comm = context.comm;
  const index::NeighboursFile found =
      mpi::collectively(comm, [&] { return index::read_neighbours_file(options.neighbours); });
  const auto& info = found.info;
  const std::string index_path =
      options.index.empty() ? resolve_recorded_path(info.index, options.neighbours) : options.index;
  const std::int64_t k = options.k > 0 ? options.k : info.k;
  const index::IndexSummary summary = mpi::collectively(comm, [&] {
    if (k > info.k)
      throw UsageError(cat("--k ", k, " asks for more than the ", info.k,
                           " neighbours per query of ", options.neighbours));
    if (info.rows == 0) throw Error(cat(options.neighbours, " holds no queries"));
    index::IndexSummary read = index::read_index_summary(index_path);
    for (std::size_t i = 0; i < found.neighbours.ids.size(); ++i)
      if (found.neighbours.ids[i] >= read.count)
        throw Error(cat(options.neighbours, ":/ids row ", static_cast<std::int64_t>(i) / info.k,
                        " holds id ", found.neighbours.ids[i], " but ", index_path, " has ",
                        read.count, " vectors"));
    return read;
  });

  NeighboursFigure precision, average_precision;
  const auto& database_labels = summary.source.labels;
  if (database_labels && found.query_labels) {
    mpi::collectively(comm, [&] {
      precision.value =
          index::precision_at_k(found.neighbours, *database_labels, *found.query_labels, k);
      average_precision.value =
          index::mean_average_precision(found.neighbours, *database_labels, *found.query_labels, k);
    });
    precision.note = cat("labels of ", index_path, " and of the queries");
    average_precision.note = cat("AP@", k);
  } else {
    precision.note = !database_labels ? cat(index_path, " has no labels")
                                      : cat(options.neighbours, " has no query labels");
    average_precision.note = precision.note;
  }

  NeighboursFigure recall;
  if (!options.exact.empty()) {
    const index::NeighboursFile exact =
        mpi::collectively(comm, [&] { return index::read_neighbours_file(options.exact); });
    mpi::collectively(comm, [&] {
      if (exact.info.rows != info.rows)
        throw Error(cat(options.exact, " has ", exact.info.rows, " queries, ", options.neighbours,
                        " ", info.rows, ": not the same queries"));
      if (exact.info.k < k)
        throw Error(cat(options.exact, " has ", exact.info.k, " neighbours per query, fewer than ",
                        "the ", k, " recall@", k, " needs"));
      recall.value = index::recall_at_k(found.neighbours, exact.neighbours, k);
    });
    recall.note = cat("against ", options.exact);
  } else if (summary.spec.kind == index::Kind::kHash) {
    recall.note = cat(index_path,
                      " is a hash index, which keeps no vectors: give --exact with the "
                      "neighbours of a flat index's query");
  } else {
    const std::optional<index::FlatIndex> exact =
        mpi::collectively(comm, [&] { return exact_index(index::read_index_file(index_path)); });
    recall.value = recall_by_exact_search(
        found, *exact,
        options.queries.empty() ? resolve_recorded_path(info.queries, options.neighbours)
                                : options.queries,
        options.model.empty() ? resolve_recorded_path(info.model, options.neighbours)
                              : options.model,
        index_path, k, context);
    recall.note = cat("against exact search over the ", exact->size(), " vectors of ", index_path);
  }
  return {info, index_path, k, recall, precision, average_precision};
}

void run_evaluate_neighbours(const EvaluateNeighboursOptions& options,
                             const StageContext& context) {
  const auto& comm = context.comm;
  const auto start = Clock::now();
  const NeighboursQuality quality = measure_neighbours(options, context);
  const auto& info = quality.info;
  const auto& index_path = quality.index_path;
  const std::int64_t k = quality.k;
  const auto &recall = quality.recall, &precision = quality.precision;
  const auto& average_precision = quality.average_precision;
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  if (comm.is_root()) {
    std::printf("%s: %lld queries, %lld neighbours each, from %s (%s%s)\n",
                options.neighbours.c_str(), static_cast<long long>(info.rows),
                static_cast<long long>(info.k), index_path.c_str(), info.spec.c_str(),
                info.nprobe > 0 ? cat(", nprobe ", info.nprobe).c_str() : "");
    const auto line = [](const std::string& name, const NeighboursFigure& figure) {
      if (figure.value)
        std::printf("%-24s %8.4f   (%s)\n", name.c_str(), *figure.value, figure.note.c_str());
      else
        std::printf("%-24s %8s   (%s)\n", name.c_str(), "n/a", figure.note.c_str());
    };
    line(cat("recall@", k), recall);
    line(cat("precision@", k), precision);
    line("mean average precision", average_precision);
    std::fflush(stdout);
  }
  mpi::collectively(comm, [&] {
    JsonObject event;
    event.add("stage", "evaluate")
        .add("neighbours", options.neighbours)
        .add("index", index_path)
        .add("type", info.spec)
        .add("queries", info.rows)
        .add("k", k)
        .add("nprobe", info.nprobe);
    if (recall.value) event.add(cat("recall_at_", k), *recall.value);
    if (precision.value) event.add(cat("precision_at_", k), *precision.value);
    if (average_precision.value) event.add("mean_average_precision", *average_precision.value);
    event.add("seconds", seconds);
    context.metrics.write(event);
  });
}

}  // namespace aepipe::stages
