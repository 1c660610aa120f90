#include "stages/encode.hpp"

#include <chrono>
#include <cstring>

#include "codec/batch_coding.hpp"
#include "codec/codes_writer.hpp"
#include "data/data_file_reader.hpp"
#include "mpi/agreement.hpp"
#include "stages/chunk_rounds.hpp"
#include "stages/model_inputs.hpp"
#include "util/atomic_output.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/progress.hpp"

namespace aepipe::stages {
namespace {

// Time spent turning pixels into codes (normalisation and the encoder, no file I/O) and the
// rows it covered, for the metrics: the figure to set beside a peer that encodes images
// already in memory (bench/encode_throughput.sh).
struct ForwardTime {
  double seconds = 0;
  std::int64_t rows = 0;
  template <class Work>
  void measure(std::int64_t count, Work&& work) {
    const auto start = std::chrono::steady_clock::now();
    work();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rows += count;
  }
};

// Codes of one round's rows, kept from the sampling pass for the writing pass.
struct RoundCodes {
  Eigen::MatrixXf codes, kept;
};

// matrix = [matrix, more] (columns appended; an empty matrix takes more's rows).
void append_columns(Eigen::MatrixXf& matrix, const Eigen::MatrixXf& more) {
  const Eigen::Index before = matrix.size() == 0 ? 0 : matrix.cols();
  matrix.conservativeResize(more.rows(), before + more.cols());
  matrix.middleCols(before, more.cols()) = more;
}

// Codes [k, count] of pixels [count, D] starting at a data-file chunk's first row, encoded
// one data-file chunk at a time (blocks from each chunk's first row, as query encodes its
// rows), so grouping chunks into larger writes does not change a code's bits.
void encode_chunks(nn::Autoencoder<float>& network, const nn::Normalisation& normalisation,
                   const data::DataFileReader& reader, const std::uint8_t* pixels,
                   std::int64_t count, Eigen::MatrixXf& codes, Eigen::MatrixXf* kept) {
  if (count <= reader.chunk_rows())
    return codec::encode_pixels(network, normalisation, pixels, count, codes, kept);
  Eigen::MatrixXf chunk_codes, chunk_kept;
  codes.resize(0, 0);
  if (kept) kept->resize(0, 0);
  for (std::int64_t first = 0; first < count; first += reader.chunk_rows()) {
    const std::int64_t rows = std::min(reader.chunk_rows(), count - first);
    codec::encode_pixels(network, normalisation, pixels + first * reader.row_bytes(), rows,
                         chunk_codes, kept ? &chunk_kept : nullptr);
    append_columns(codes, chunk_codes);
    if (kept) append_columns(*kept, chunk_kept);
  }
}

// Per-dimension samples of the codes of every stride-th row, gathered on every rank in the
// same order whatever the rank count (a row's code does not depend on P, and the sorted
// samples do not depend on the order they arrive in).
//
// Rows are taken in the writing pass's pieces (`rounds`: whole data-file chunks), and encoded
// one data-file chunk at a time. With stride 1 every row is encoded here, exactly as the
// writing pass would (blocks from each chunk's first row): those codes are kept in `reuse`
// when it is given, so the data is encoded once. With a larger stride only the sampled rows
// are encoded, in blocks counted from the chunk's first sampled row (still independent of P).
std::vector<std::vector<float>> sample_codes(nn::Autoencoder<float>& network,
                                             const nn::Normalisation& normalisation,
                                             const data::DataFileReader& reader,
                                             const ChunkRounds& rounds, std::int64_t stride,
                                             bool sparse, const mpi::Communicator& comm,
                                             std::vector<RoundCodes>* reuse, ForwardTime& forward) {
  const Eigen::Index k = network.architecture().code_size();
  // Pairs (dimension, value) of this rank's sampled rows.
  std::vector<float> local;
  mpi::collectively(comm, [&] {
    std::vector<std::uint8_t> pixels, sampled;
    Eigen::MatrixXf codes, kept;
    const auto row_bytes = static_cast<std::size_t>(reader.row_bytes());
    for (std::int64_t round = 0; round < rounds.rounds(comm.size()); ++round) {
      const auto [piece_first, piece_count] = rounds.rows_of(round, comm.rank(), comm.size());
      if (reuse) reuse->emplace_back();
      for (std::int64_t first = piece_first; first < piece_first + piece_count;
           first += reader.chunk_rows()) {
        const std::int64_t count = std::min(reader.chunk_rows(), piece_first + piece_count - first);
        // Only chunks holding a sampled row are read.
        const std::int64_t first_sample = (first + stride - 1) / stride * stride;
        if (first_sample >= first + count) continue;
        pixels.resize(static_cast<size_t>(count * reader.row_bytes()));
        reader.read_images(first, count, pixels.data());
        const std::int64_t samples = (first + count - first_sample + stride - 1) / stride;
        const std::uint8_t* rows = pixels.data();
        if (stride > 1) {
          sampled.resize(static_cast<std::size_t>(samples) * row_bytes);
          for (std::int64_t i = 0; i < samples; ++i)
            std::memcpy(sampled.data() + static_cast<std::size_t>(i) * row_bytes,
                        pixels.data() +
                            static_cast<std::size_t>(first_sample - first + i * stride) * row_bytes,
                        row_bytes);
          rows = sampled.data();
        }
        forward.measure(samples, [&] {
          codec::encode_pixels(network, normalisation, rows, samples, codes,
                               sparse ? &kept : nullptr);
        });
        for (std::int64_t i = 0; i < samples; ++i)
          for (Eigen::Index j = 0; j < k; ++j) {
            if (sparse && kept(j, i) == 0.0f) continue;
            local.push_back(static_cast<float>(j));
            local.push_back(codes(j, i));
          }
        if (reuse) {  // stride 1: the piece's codes, chunk after chunk
          append_columns(reuse->back().codes, codes);
          if (sparse) append_columns(reuse->back().kept, kept);
        }
      }
    }
  });
  std::vector<char> gathered = mpi::or_abort(comm, [&] {
    return comm.gather_bytes(std::span<const char>(reinterpret_cast<const char*>(local.data()),
                                                   local.size() * sizeof(float)),
                             0);
  });
  std::vector<std::vector<float>> samples(static_cast<size_t>(k));
  if (comm.is_root()) {
    std::vector<float> pairs(gathered.size() / sizeof(float));
    std::memcpy(pairs.data(), gathered.data(), pairs.size() * sizeof(float));
    for (size_t i = 0; i + 1 < pairs.size(); i += 2)
      samples[static_cast<size_t>(pairs[i])].push_back(pairs[i + 1]);
  }
  return samples;
}

}  // namespace

void run_encode(const EncodeOptions& options, const StageContext& context) {
  if (options.input.empty()) throw UsageError("no data given (--input data.h5)");
  if (options.model.empty()) throw UsageError("no model given (--model model.h5)");
  if (options.output.empty()) throw UsageError("no output given (--output codes.h5)");
  if (options.bits < 0 || options.bits > 16)
    throw UsageError(cat("--bits must lie in 1..16 (0 keeps float32 codes), got ", options.bits));
  if (options.deflate < 0 || options.deflate > 9)
    throw UsageError(cat("--deflate must lie in 0..9, got ", options.deflate));
  if (options.sample_rows < 1)
    throw UsageError(cat("--sample-rows must be positive, got ", options.sample_rows));
  const auto& comm = context.comm;
  const auto start = std::chrono::steady_clock::now();
  check_output_path(options.output, {options.input, options.model}, context.common.force, comm);
  nn::LoadedModel model = load_model(options.model, comm);
  const data::DataFileReader reader =
      mpi::collectively(comm, [&] { return data::DataFileReader(options.input); });
  require_model_shape(model, options.model, reader.shape(), options.input, comm);
  auto& network = *model.network;
  const auto& normalisation = model.info.normalisation;

  codec::CodesLayout layout;
  layout.rows = reader.rows();
  layout.code_size = network.architecture().code_size();
  layout.bits = options.bits;
  layout.labels = reader.has_labels();
  layout.tiles = reader.has_tiles();
  layout.deflate_level = options.deflate;
  const bool top_k = network.objective().sparsity == nn::Sparsity::kTopK;
  if (top_k && !options.dense) layout.kept = network.objective().k;
  // Each rank writes whole chunks of the code datasets: rounds of that many rows.
  layout.chunk_rows =
      codec::code_chunk_rows(reader.rows(), reader.chunk_rows(), reader.row_bytes(), layout);
  const ChunkRounds rounds{reader.rows(),
                           layout.chunk_rows > 0 ? layout.chunk_rows : reader.chunk_rows()};

  std::optional<codec::Quantiser> quantiser;
  ForwardTime forward;              // this rank's
  std::vector<RoundCodes> encoded;  // per round of this rank, when the sampling pass kept them
  if (options.bits > 0) {
    const std::int64_t stride =
        std::max<std::int64_t>(1, (reader.rows() + options.sample_rows - 1) / options.sample_rows);
    // Every row sampled (at most --sample-rows rows): keep their codes for the writing pass
    // unless they would take more than 256 MiB.
    constexpr double kMaxKeptBytes = 256.0 * (1 << 20);
    const bool keep = stride == 1 && static_cast<double>(reader.rows()) *
                                             static_cast<double>(layout.code_size) * 4.0 *
                                             (layout.sparse() ? 2.0 : 1.0) <=
                                         kMaxKeptBytes;
    auto samples = sample_codes(network, normalisation, reader, rounds, stride, layout.sparse(),
                                comm, keep ? &encoded : nullptr, forward);
    codec::Quantiser fitted;
    mpi::collectively(comm, [&] {
      if (comm.is_root()) fitted = codec::fit_quantiser(samples, options.bits);
    });
    fitted.bits = options.bits;
    fitted.scale.resize(layout.code_size);
    fitted.offset.resize(layout.code_size);
    comm.broadcast(fitted.scale, 0);
    comm.broadcast(fitted.offset, 0);
    quantiser = std::move(fitted);
  }

  codec::CodesWriter writer(comm, options.output, layout, quantiser);
  Progress progress("encode", reader.rows(), "images", context.show_progress());
  std::vector<std::uint8_t> pixels;
  std::vector<std::int32_t> labels;
  std::vector<std::int64_t> tiles;
  Eigen::MatrixXf codes, kept;
  std::int64_t done = 0;
  for (std::int64_t round = 0; round < rounds.rounds(comm.size()); ++round) {
    const auto [first, count] = rounds.rows_of(round, comm.rank(), comm.size());
    mpi::collectively(comm, [&] {
      labels = reader.read_labels(first, count);
      if (layout.tiles) tiles = reader.read_tiles(first, count);
      if (!encoded.empty()) {
        codes = std::move(encoded[static_cast<std::size_t>(round)].codes);
        kept = std::move(encoded[static_cast<std::size_t>(round)].kept);
        if (count > 0 && codes.cols() == count) return;  // kept by the sampling pass
      }
      pixels.resize(static_cast<size_t>(count * reader.row_bytes()));
      if (count > 0) reader.read_images(first, count, pixels.data());
      forward.measure(count, [&] {
        encode_chunks(network, normalisation, reader, pixels.data(), count, codes,
                      layout.sparse() ? &kept : nullptr);
      });
    });
    writer.write(first, codes, layout.sparse() ? &kept : nullptr, labels, tiles);
    done = std::min(reader.rows(), (round + 1) * comm.size() * rounds.chunk_rows);
    progress.update(done);
  }
  const std::string model_kind = model.info.kind;
  writer.finish({options.model, model_kind, network.architecture().describe(), options.input,
                 reader.shape()});
  progress.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (context.show_progress())
    std::fprintf(stderr, "encode: %lld images to %s (%lld-d %s codes, %s) in %s\n",
                 static_cast<long long>(reader.rows()), options.output.c_str(),
                 static_cast<long long>(layout.code_size),
                 layout.sparse() ? cat("top-", layout.kept, " sparse").c_str() : "dense",
                 options.bits > 0 ? cat(options.bits, "-bit").c_str() : "float32",
                 format_duration(seconds).c_str());
  // The slowest rank's forward time bounds the stage; the rows are every rank's, and a row
  // encoded twice (a quantiser sample whose code was not kept for writing) counts twice.
  const double forward_seconds = comm.allreduce_max(forward.seconds);
  const std::int64_t forward_rows = comm.allreduce_sum(forward.rows);
  mpi::collectively(comm, [&] {
    JsonObject event;
    event.add("stage", "encode")
        .add("input", options.input)
        .add("model", options.model)
        .add("output", options.output)
        .add("images", reader.rows())
        .add("code_size", layout.code_size)
        .add("bits", options.bits)
        .add("sparse", layout.sparse())
        .add("seconds", seconds)
        .add("images_per_s", seconds > 0 ? static_cast<double>(reader.rows()) / seconds : 0.0)
        .add("forward_seconds", forward_seconds)
        .add("forward_images_per_s",
             forward_seconds > 0 ? static_cast<double>(forward_rows) / forward_seconds : 0.0);
    context.metrics.write(event);
  });
}

}  // namespace aepipe::stages
