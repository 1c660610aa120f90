#include "stages/decode.hpp"

#include <chrono>
#include <filesystem>
#include <set>

#include "codec/batch_coding.hpp"
#include "codec/codes_reader.hpp"
#include "codec/source_rounds.hpp"
#include "data/data_file_writer.hpp"
#include "data/image_codec.hpp"
#include "data/source_table.hpp"
#include "h5/strings.hpp"
#include "mpi/agreement.hpp"
#include "stages/decode_inputs.hpp"
#include "util/atomic_output.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/progress.hpp"

namespace aepipe::stages {
namespace fs = std::filesystem;
namespace {

// Writes a PNG under a temporary name and renames it, so a listed file is always complete.
void write_png_atomically(const fs::path& path, const data::Image& image) {
  const fs::path temporary = path.parent_path() / ("." + path.filename().string() + ".tmp");
  data::write_png(temporary.string(), image);
  commit_output(temporary.string(), path.string());
}

// File names of the reassembled images of a tiled archive: the sources' file-name stems
// when they are unique, else "<source index>_<stem>". Decided on rank 0 from all names.
bool source_stems_unique(const h5::Dataset& table, std::int64_t sources,
                         const mpi::Communicator& comm) {
  std::int64_t unique = 1;
  mpi::collectively(comm, [&] {
    if (!comm.is_root()) return;
    std::set<std::string> stems;
    constexpr std::int64_t kPiece = 1 << 16;
    for (std::int64_t first = 0; first < sources && unique; first += kPiece) {
      const auto count = std::min(kPiece, sources - first);
      for (const auto& record :
           data::read_sources(table, static_cast<hsize_t>(first), static_cast<hsize_t>(count)))
        if (!stems.insert(fs::path(record.name).stem().string()).second) unique = 0;
    }
  });
  return comm.broadcast(unique, 0) != 0;
}

struct DecodeTarget {
  std::optional<data::DataFileWriter> writer;
  fs::path png_folder;
  bool png = false;
};

void decode_rows(const DecodeOptions& options, const DecodeInputs& inputs, DecodeTarget& target,
                 Progress& progress, const StageContext& context) {
  const auto& comm = context.comm;
  const auto& codes = *inputs.codes;
  const auto shape = codes.origin().image_shape;
  const std::int64_t rows = codes.rows();
  const std::int64_t per_rank = std::max<std::int64_t>(
      1, options.buffer_mb * (std::int64_t{1} << 20) / static_cast<std::int64_t>(shape.bytes()));
  const std::int64_t per_round = per_rank * comm.size();
  const int digits = static_cast<int>(std::to_string(std::max<std::int64_t>(0, rows - 1)).size());
  Eigen::MatrixXf values;
  for (std::int64_t round_first = 0; round_first < rows; round_first += per_round) {
    const std::int64_t first = std::min(rows, round_first + comm.rank() * per_rank);
    const std::int64_t count = std::min(rows - first, per_rank);
    data::RowBatch batch;
    mpi::collectively(comm, [&] {
      codes.read_codes(first, count, values);
      codec::decode_codes(*inputs.model.network, inputs.model.info.normalisation, values,
                          batch.pixels);
      batch.labels = codes.read_labels(first, count);
      batch.names = read_names(codes, first, count);
      if (!target.png) return;
      for (std::int64_t i = 0; i < count; ++i) {
        data::Image image{shape.height, shape.width, shape.channels, {}};
        const auto* begin = batch.pixels.data() + i * static_cast<std::int64_t>(shape.bytes());
        image.pixels.assign(begin, begin + shape.bytes());
        char name[32];
        std::snprintf(name, sizeof name, "%0*lld.png", digits, static_cast<long long>(first + i));
        write_png_atomically(target.png_folder / name, image);
      }
    });
    if (target.writer) target.writer->append(batch);
    progress.update(std::min(rows, round_first + per_round));
  }
}

void decode_sources(const DecodeOptions& options, const DecodeInputs& inputs, DecodeTarget& target,
                    Progress& progress, const StageContext& context) {
  const auto& comm = context.comm;
  const auto& codes = *inputs.codes;
  const auto shape = codes.origin().image_shape;
  const h5::Dataset table =
      mpi::collectively(comm, [&] { return h5::Dataset::open(codes.file(), "/sources"); });
  const auto sources = static_cast<std::int64_t>(table.rows());
  // Sources per rank per round: a 1-megapixel photo takes `channels` MB, so about
  // buffer_mb of pixels for photos of that size.
  const std::int64_t per_rank = std::max<std::int64_t>(1, options.buffer_mb / shape.channels);
  codec::SourceRounds rounds(sources, codes.rows(), shape.height, per_rank);
  const bool stems = target.png && source_stems_unique(table, sources, comm);
  Eigen::MatrixXf values;
  for (std::int64_t round = 0; round < rounds.rounds(comm.size()); ++round) {
    codec::SourceShare mine = rounds.next(table, round, comm);
    data::RowBatch batch;
    mpi::collectively(comm, [&] {
      const std::int64_t first = mine.first_row, count = mine.rows;
      auto tiles = codes.read_tiles(first, count);
      rounds.check_tiles(mine, tiles, codes.path() + ":/tiles");
      codes.read_codes(first, count, values);
      codec::decode_codes(*inputs.model.network, inputs.model.info.normalisation, values,
                          batch.pixels);
      batch.labels = codes.read_labels(first, count);
      for (size_t i = 0; i < tiles.size(); i += 4)
        batch.names.push_back(
            cat(mine.records[static_cast<size_t>(tiles[i] - mine.first_source)].name, "@",
                tiles[i + 1], ",", tiles[i + 2]));
      // The writer wants source indices local to the batch.
      for (size_t i = 0; i < tiles.size(); i += 4) tiles[i] -= mine.first_source;
      batch.tiles = std::move(tiles);
      batch.sources = mine.records;
      if (!target.png) return;
      std::int64_t row = 0;
      for (size_t s = 0; s < mine.records.size(); ++s) {
        const data::Image image = codec::assemble_source(
            mine, s, shape.height, shape.channels,
            batch.pixels.data() + row * static_cast<std::int64_t>(shape.bytes()));
        row += mine.tile_rows[s];
        const std::string stem = fs::path(mine.records[s].name).stem().string();
        const std::string name =
            stems ? stem : cat(mine.first_source + static_cast<std::int64_t>(s), "_", stem);
        write_png_atomically(target.png_folder / (name + ".png"), image);
      }
    });
    if (target.writer) target.writer->append(batch);
    progress.update(std::min(codes.rows(), rounds.rows_done()));
  }
}

}  // namespace

void run_decode(const DecodeOptions& options, const StageContext& context) {
  if (options.input.empty()) throw UsageError("no codes given (--input codes.h5)");
  if (options.output.empty() && options.png.empty())
    throw UsageError("nothing to write: give --output images.h5 and/or --png DIR");
  if (options.buffer_mb < 1)
    throw UsageError(cat("--buffer-mb must be positive, got ", options.buffer_mb));
  const auto& comm = context.comm;
  const auto start = std::chrono::steady_clock::now();
  DecodeInputs inputs = open_decode_inputs(options.input, options.model, comm);
  const auto& codes = *inputs.codes;
  DecodeTarget target;
  if (!options.output.empty()) {
    check_output_path(options.output, {options.input, inputs.model_path}, context.common.force,
                      comm);
    data::DataFileLayout layout;
    layout.row_shape = codes.origin().image_shape;
    layout.labels = codes.layout().labels;
    layout.tiles = codes.layout().tiles;
    layout.deflate_level = options.deflate;
    target.writer.emplace(comm, options.output, layout);
  }
  if (!options.png.empty()) {
    target.png = true;
    target.png_folder = options.png;
    mpi::collectively(comm, [&] {
      std::error_code error;
      if (comm.is_root()) fs::create_directories(target.png_folder, error);
      if (error)
        throw Error(cat("cannot create the PNG folder ", options.png, ": ", error.message()));
    });
  }
  Progress progress("decode", codes.rows(), "images", context.show_progress());
  if (codes.layout().tiles)
    decode_sources(options, inputs, target, progress, context);
  else
    decode_rows(options, inputs, target, progress, context);
  if (target.writer)
    target.writer->finish(
        {inputs.classes, cat("decoded from ", options.input, " with ", inputs.model_path), 0});
  progress.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (context.show_progress())
    std::fprintf(stderr, "decode: %lld rows of %s in %s\n", static_cast<long long>(codes.rows()),
                 options.input.c_str(), format_duration(seconds).c_str());
  mpi::collectively(comm, [&] {
    JsonObject event;
    event.add("stage", "decode")
        .add("input", options.input)
        .add("model", inputs.model_path)
        .add("output", options.output)
        .add("png", options.png)
        .add("images", codes.rows())
        .add("seconds", seconds)
        .add("images_per_s", seconds > 0 ? static_cast<double>(codes.rows()) / seconds : 0.0);
    context.metrics.write(event);
  });
}

}  // namespace aepipe::stages
