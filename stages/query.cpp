#include "stages/query.hpp"

#include <chrono>

#include "codec/batch_coding.hpp"
#include "h5/format.hpp"
#include "index/index.hpp"
#include "index/index_file.hpp"
#include "index/neighbours_file.hpp"
#include "mpi/agreement.hpp"
#include "stages/chunk_rounds.hpp"
#include "stages/model_inputs.hpp"
#include "util/atomic_output.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/progress.hpp"
#include "util/report.hpp"

namespace aepipe::stages {
namespace {

using Clock = std::chrono::steady_clock;

// The aepipe_format of `path` ("codes", "data", ...); throws naming the file if it has none.
std::string file_kind(const std::string& path) {
  const h5::File file = h5::File::open(path, h5::File::Mode::kReadOnly, nullptr);
  return h5::read_format_tag(file).kind;
}

}  // namespace

QuerySource::QuerySource(const std::string& input, const std::string& model, std::int64_t dim,
                         const std::string& index, const mpi::Communicator& comm)
    : dim_(dim) {
  const std::string kind = mpi::collectively(comm, [&] { return file_kind(input); });
  if (kind == codec::kCodesFormat) {
    codes_.emplace(mpi::collectively(comm, [&] { return codec::CodesReader(input); }));
    rows_ = codes_->rows();
    labels_ = codes_->layout().labels;
    mpi::collectively(comm, [&] {
      if (codes_->code_size() != dim)
        throw Error(cat(input, " holds ", codes_->code_size(), "-d codes but ", index, " indexes ",
                        dim, "-d vectors"));
    });
    if (!model.empty() && comm.is_root())
      print_warning(cat("--model ", model, " is not used: ", input, " holds codes already"),
                    comm.rank());
  } else if (kind == "data") {
    if (model.empty())
      throw UsageError(cat(input, " holds images: give the model that encodes them (--model)"));
    model_path_ = model;
    model_.emplace(load_model(model, comm));
    data_.emplace(mpi::collectively(comm, [&] { return data::DataFileReader(input); }));
    require_model_shape(*model_, model, data_->shape(), input, comm);
    rows_ = data_->rows();
    labels_ = data_->has_labels();
    const std::int64_t code_size = model_->network->architecture().code_size();
    mpi::collectively(comm, [&] {
      if (code_size != dim)
        throw Error(cat(model, " makes ", code_size, "-d codes but ", index, " indexes ", dim,
                        "-d vectors"));
    });
  } else {
    mpi::collectively(comm, [&] {
      throw Error(cat(input, " is an aepipe '", kind,
                      "' file: queries come as a 'codes' file or a 'data' file of images"));
    });
  }
}

void QuerySource::read(std::int64_t first, std::int64_t count, index::RowMatrixXf& vectors,
                       std::vector<std::int32_t>& labels) {
  if (codes_) {
    Eigen::MatrixXf columns;  // [dim, count]: column j is query first + j
    codes_->read_codes(first, count, columns);
    vectors = Eigen::Map<const index::RowMatrixXf>(columns.data(), count, dim_);
    labels = codes_->read_labels(first, count);
  } else {
    encode(first, count, vectors);
    labels = data_->read_labels(first, count);
  }
}

void QuerySource::encode(std::int64_t first, std::int64_t count, index::RowMatrixXf& vectors) {
  vectors.resize(count, dim_);
  if (count == 0) return;
  const std::int64_t chunk_rows = data_->chunk_rows();
  std::vector<std::uint8_t> pixels;
  for (std::int64_t chunk = first / chunk_rows; chunk <= (first + count - 1) / chunk_rows;
       ++chunk) {
    const std::int64_t chunk_first = chunk * chunk_rows;
    if (chunk != cached_chunk_) {
      const std::int64_t chunk_count = std::min(rows_, chunk_first + chunk_rows) - chunk_first;
      pixels.resize(static_cast<std::size_t>(chunk_count * data_->row_bytes()));
      data_->read_images(chunk_first, chunk_count, pixels.data());
      codec::encode_pixels(*model_->network, model_->info.normalisation, pixels.data(), chunk_count,
                           cached_codes_, nullptr);
      cached_chunk_ = chunk;
    }
    // Rows of this chunk inside [first, first + count).
    const std::int64_t from = std::max(first, chunk_first);
    const std::int64_t to = std::min(first + count, chunk_first + cached_codes_.cols());
    for (std::int64_t row = from; row < to; ++row)
      vectors.row(row - first) = cached_codes_.col(row - chunk_first).transpose();
  }
}

void run_query(const QueryOptions& options, const StageContext& context) {
  if (options.index.empty()) throw UsageError("no index given (--index index.h5)");
  if (options.input.empty())
    throw UsageError("no queries given (--input queries.h5: codes, or images with --model)");
  if (options.output.empty()) throw UsageError("no output given (--output neighbours.h5)");
  if (options.k < 1) throw UsageError(cat("--k must be at least 1, got ", options.k));
  if (options.nprobe < 1)
    throw UsageError(cat("--nprobe must be at least 1, got ", options.nprobe));
  const auto& comm = context.comm;
  const auto start = Clock::now();
  std::vector<std::string> inputs{options.index, options.input};
  if (!options.model.empty()) inputs.push_back(options.model);
  check_output_path(options.output, inputs, context.common.force, comm);

  const index::Index searched =
      mpi::collectively(comm, [&] { return index::read_index_file(options.index); });
  const index::IndexSpec spec = index::spec_of(searched);
  const double read_seconds = seconds_since(start);
  QuerySource queries(options.input, options.model, index::dim_of(searched), options.index, comm);
  const std::int64_t total = queries.rows();
  mpi::collectively(comm, [&] {
    if (total == 0) throw Error(cat(options.input, " holds no queries"));
  });

  index::NeighboursInfo info;
  info.rows = total;
  info.k = options.k;
  info.index = options.index;
  info.queries = options.input;
  info.model = queries.model_path();
  info.spec = index::to_string(spec);
  info.metric = spec.metric;
  info.nprobe = spec.kind == index::Kind::kIvf ? std::min(options.nprobe, spec.nlist) : 0;
  index::NeighboursWriter writer(comm, options.output, info, queries.has_labels());

  index::SearchOptions search_options;
  search_options.k = options.k;
  search_options.nprobe = options.nprobe;
  search_options.batch = kQueryBlock;
  const ChunkRounds blocks{total, kQueryBlock};
  Progress progress("query", total, "queries", context.show_progress());
  index::RowMatrixXf vectors;
  std::vector<std::int32_t> labels;
  index::Neighbours found;
  double search_seconds = 0;  // this rank's time in search()
  const auto loop_start = Clock::now();
  for (std::int64_t round = 0; round < blocks.rounds(comm.size()); ++round) {
    const auto [first, count] = blocks.rows_of(round, comm.rank(), comm.size());
    mpi::collectively(comm, [&] {
      queries.read(first, count, vectors, labels);
      const auto search_start = Clock::now();
      found = count > 0 ? index::search(searched, vectors, search_options) : index::Neighbours{};
      search_seconds += seconds_since(search_start);
    });
    writer.write(first, found, labels);
    progress.update(std::min(total, (round + 1) * comm.size() * kQueryBlock));
  }
  writer.finish();
  progress.finish();
  const double loop_seconds = seconds_since(loop_start);
  const double slowest_search = comm.allreduce_max(search_seconds);
  const double seconds = seconds_since(start);
  const double queries_per_s = loop_seconds > 0 ? static_cast<double>(total) / loop_seconds : 0.0;
  const double search_queries_per_s =
      slowest_search > 0 ? static_cast<double>(total) / slowest_search : 0.0;
  if (context.show_progress())
    std::fprintf(stderr,
                 "query: %lld queries of %s against %s (%s%s), k %lld, to %s in %s "
                 "(%.0f queries/s; %.0f in search alone)\n",
                 static_cast<long long>(total), options.input.c_str(), options.index.c_str(),
                 info.spec.c_str(), info.nprobe > 0 ? cat(", nprobe ", info.nprobe).c_str() : "",
                 static_cast<long long>(options.k), options.output.c_str(),
                 format_seconds(seconds).c_str(), queries_per_s, search_queries_per_s);
  mpi::collectively(comm, [&] {
    JsonObject event;
    event.add("stage", "query")
        .add("index", options.index)
        .add("input", options.input)
        .add("model", info.model)
        .add("output", options.output)
        .add("type", info.spec)
        .add("vectors", static_cast<std::int64_t>(index::size_of(searched)))
        .add("queries", total)
        .add("k", options.k)
        .add("nprobe", info.nprobe)
        .add("read_index_seconds", read_seconds)
        .add("search_seconds", slowest_search)
        .add("seconds", seconds)
        .add("queries_per_s", queries_per_s)
        .add("search_queries_per_s", search_queries_per_s);
    context.metrics.write(event);
  });
}

}  // namespace aepipe::stages
