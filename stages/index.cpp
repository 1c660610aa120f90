#include "stages/index.hpp"

#include <chrono>

#include "codec/codes_reader.hpp"
#include "index/index.hpp"
#include "index/index_file.hpp"
#include "mpi/agreement.hpp"
#include "util/atomic_output.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/progress.hpp"

namespace aepipe::stages {
namespace {

using Clock = std::chrono::steady_clock;

// Throws (the same on every rank) if `rows` codes cannot make the index `spec` asks for.
void require_enough_rows(const index::IndexSpec& spec, const std::string& text,
                         const std::string& input, std::int64_t rows) {
  if (rows == 0) throw Error(cat(input, " holds no codes: nothing to index"));
  if (spec.kind == index::Kind::kIvf && rows < spec.nlist)
    throw Error(cat(input, " holds ", rows, " codes, fewer than the ", spec.nlist,
                    " inverted lists of '", text, "': give a smaller NLIST"));
  if (spec.kind == index::Kind::kHash && rows < 2)
    throw Error(cat(input, " holds ", rows, " code: a hash needs at least 2 to learn from"));
}

std::string describe(const index::Index& built) {
  if (const auto* ivf = std::get_if<index::IvfIndex>(&built)) {
    std::int64_t largest = 0;
    for (Eigen::Index l = 0; l < ivf->nlist(); ++l)
      largest = std::max(largest, ivf->list_offsets[l + 1] - ivf->list_offsets[l]);
    return cat(", lists of ", ivf->size() / std::max<Eigen::Index>(1, ivf->nlist()),
               " vectors on average, ", largest, " at most");
  }
  return "";
}

}  // namespace

void run_index(const IndexOptions& options, const StageContext& context) {
  if (options.input.empty()) throw UsageError("no codes given (--input codes.h5)");
  if (options.output.empty()) throw UsageError("no output given (--output index.h5)");
  const index::IndexSpec spec = index::parse_index_spec(options.type);
  if (options.kmeans_iterations < 1)
    throw UsageError(
        cat("--kmeans-iterations must be at least 1, got ", options.kmeans_iterations));
  if (options.sample_per_list < 1)
    throw UsageError(cat("--sample-per-list must be at least 1, got ", options.sample_per_list));
  if (options.itq_iterations < 0)
    throw UsageError(cat("--itq-iterations must be >= 0, got ", options.itq_iterations));
  if (options.hash_sample_rows < 2)
    throw UsageError(cat("--hash-sample-rows must be at least 2, got ", options.hash_sample_rows));
  const auto& comm = context.comm;
  const auto start = Clock::now();
  check_output_path(options.output, {options.input}, context.common.force, comm);

  // Rank r reads rows [N r / P, N (r + 1) / P): build_index wants contiguous slices in rank
  // order, and builds the same index from any such split.
  const codec::CodesReader codes =
      mpi::collectively(comm, [&] { return codec::CodesReader(options.input); });
  const std::int64_t rows = codes.rows(), dim = codes.code_size();
  mpi::collectively(comm, [&] { require_enough_rows(spec, options.type, options.input, rows); });
  const std::int64_t first = rows * comm.rank() / comm.size();
  const std::int64_t count = rows * (comm.rank() + 1) / comm.size() - first;
  Eigen::MatrixXf local;  // [dim, count]: column j is row first + j, i.e. row-major [count, dim]
  index::IndexSource source{options.input, std::nullopt};
  mpi::collectively(comm, [&] {
    codes.read_codes(first, count, local);
    if (comm.is_root() && codes.layout().labels) source.labels = codes.read_labels(0, rows);
  });
  const double read_seconds = seconds_since(start);

  const auto build_start = Clock::now();
  index::BuildOptions build;
  build.seed = context.common.seed;
  build.kmeans_iterations = options.kmeans_iterations;
  build.max_points_per_list = options.sample_per_list;
  build.itq_iterations = options.itq_iterations;
  build.hash_training_rows = options.hash_sample_rows;
  const Eigen::Map<const index::RowMatrixXf> vectors(local.data(), count, dim);
  const index::Index built = index::build_index(spec, vectors, build, comm);
  local.resize(0, 0);
  const double build_seconds = seconds_since(build_start);

  const auto write_start = Clock::now();
  index::write_index(options.output, built, comm, source);
  const double write_seconds = seconds_since(write_start);
  const double seconds = seconds_since(start);
  const std::string type = index::to_string(spec);
  if (context.show_progress())
    std::fprintf(stderr, "index: %lld %lld-d vectors of %s to %s (%s%s%s) in %s\n",
                 static_cast<long long>(rows), static_cast<long long>(dim), options.input.c_str(),
                 options.output.c_str(), type.c_str(), describe(built).c_str(),
                 source.labels ? ", with labels" : "", format_seconds(seconds).c_str());
  mpi::collectively(comm, [&] {
    JsonObject event;
    event.add("stage", "index")
        .add("input", options.input)
        .add("output", options.output)
        .add("type", type)
        .add("vectors", rows)
        .add("dim", dim)
        .add("labels", codes.layout().labels)
        .add("read_seconds", read_seconds)
        .add("build_seconds", build_seconds)
        .add("write_seconds", write_seconds)
        .add("seconds", seconds);
    if (spec.kind == index::Kind::kIvf) event.add("nlist", spec.nlist);
    if (spec.kind == index::Kind::kHash) event.add("bits", spec.bits);
    context.metrics.write(event);
  });
}

}  // namespace aepipe::stages
