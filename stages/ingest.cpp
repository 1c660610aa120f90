#include "stages/ingest.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "data/data_file_writer.hpp"
#include "data/folder_source.hpp"
#include "data/hdf5_source.hpp"
#include "data/idx_file.hpp"
#include "data/idx_source.hpp"
#include "data/image_folder.hpp"
#include "data/tiling.hpp"
#include "mpi/agreement.hpp"
#include "util/atomic_output.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"
#include "util/report.hpp"

namespace aepipe::stages {
namespace fs = std::filesystem;
namespace {

enum class InputKind : int { kFolder, kIdxImages, kIdxLabels, kHdf5 };

struct Input {
  InputKind kind;
  std::string path;
  std::string dataset;  // HDF5 only
};

bool starts_with_hdf5_signature(const std::string& path) {
  static constexpr char kSignature[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
  std::ifstream in(path, std::ios::binary);
  char head[8] = {};
  in.read(head, 8);
  return in.gcount() == 8 && std::memcmp(head, kSignature, 8) == 0;
}

// What an --input names, decided from the file system and the content, never the extension.
Input classify(const std::string& spec) {
  std::error_code error;
  std::string path = spec, dataset;
  if (!fs::exists(spec, error)) {
    const size_t colon = spec.rfind(':');
    if (colon != std::string::npos && colon > 0 &&
        fs::is_regular_file(spec.substr(0, colon), error)) {
      path = spec.substr(0, colon);
      dataset = spec.substr(colon + 1);
      if (dataset.empty() || dataset.front() != '/') dataset = "/" + dataset;
    } else {
      throw Error(cat("input ", spec, " does not exist"));
    }
  }
  if (fs::is_directory(path, error)) {
    if (!dataset.empty()) throw Error(cat("input ", spec, ": a folder has no datasets"));
    return {InputKind::kFolder, path, ""};
  }
  // A FIFO or a device would block the first read for ever.
  if (!fs::is_regular_file(path, error))
    throw Error(cat("input ", spec, " is not a regular file, a folder or an HDF5 dataset"));
  if (starts_with_hdf5_signature(path))
    return {InputKind::kHdf5, path, dataset.empty() ? "/images" : dataset};
  if (!dataset.empty()) throw Error(cat("input ", spec, ": ", path, " is not an HDF5 file"));
  if (data::has_image_extension(path) && !data::looks_like_idx(path))
    return {InputKind::kFolder, path, ""};  // a single image file, listed like a folder
  if (data::looks_like_idx(path)) {
    data::IdxFile idx(path);
    return {idx.header().dims.size() == 1 ? InputKind::kIdxLabels : InputKind::kIdxImages, path,
            ""};
  }
  throw Error(cat("input ", spec, " is not a folder, an HDF5 file or an IDX file (gzip'd or not)"));
}

std::unique_ptr<data::ImageSource> open_source(const std::vector<Input>& inputs,
                                               const mpi::Communicator& comm) {
  const InputKind kind =
      inputs.front().kind == InputKind::kIdxLabels ? InputKind::kIdxImages : inputs.front().kind;
  std::vector<std::string> images, labels, folders;
  for (const auto& input : inputs) {
    const bool idx = input.kind == InputKind::kIdxImages || input.kind == InputKind::kIdxLabels;
    if ((kind == InputKind::kIdxImages) != idx || (!idx && input.kind != kind))
      throw UsageError(cat("inputs mix kinds (", inputs.front().path, " and ", input.path,
                           "); ingest one kind of archive at a time"));
    if (input.kind == InputKind::kIdxImages) images.push_back(input.path);
    if (input.kind == InputKind::kIdxLabels) labels.push_back(input.path);
    if (input.kind == InputKind::kFolder) folders.push_back(input.path);
  }
  if (kind == InputKind::kFolder) return data::open_folder_source(folders, comm);

  std::vector<std::unique_ptr<data::ImageSource>> parts;
  if (kind == InputKind::kHdf5) {
    for (const auto& input : inputs)
      parts.push_back(mpi::collectively(
          comm, [&] { return data::open_hdf5_source(input.path, input.dataset, comm); }));
    return mpi::collectively(comm, [&] { return data::concatenate(std::move(parts)); });
  }
  return mpi::collectively(comm, [&] {
    if (images.empty()) throw UsageError("IDX label files given but no IDX image file");
    if (!labels.empty() && labels.size() != images.size())
      throw UsageError(cat(images.size(), " IDX image files but ", labels.size(),
                           " label files; give one label file per image file, in the same order"));
    for (size_t i = 0; i < images.size(); ++i)
      parts.push_back(data::open_idx_source(images[i], labels.empty() ? "" : labels[i]));
    return data::concatenate(std::move(parts));
  });
}

// IDX inputs whose rows go into the data file exactly as stored (whole images, no resize, no
// channel change) are read straight into the writer's buffer by data::IdxRows, without the
// per-image objects of ImageSource::read(): null otherwise. Opened after open_source(), which
// has checked the same files.
std::unique_ptr<data::IdxRows> open_stored_rows(const std::vector<Input>& inputs,
                                                const data::RowSpec& spec,
                                                const data::ImageShape& natural,
                                                const mpi::Communicator& comm) {
  const bool idx = std::all_of(inputs.begin(), inputs.end(), [](const Input& input) {
    return input.kind == InputKind::kIdxImages || input.kind == InputKind::kIdxLabels;
  });
  if (!idx || spec.mode != data::RowSpec::Mode::kWhole || spec.resize_height > 0 ||
      spec.resize_width > 0 || !(spec.row_shape == natural))
    return nullptr;
  std::vector<std::string> images, labels;
  for (const auto& input : inputs)
    (input.kind == InputKind::kIdxImages ? images : labels).push_back(input.path);
  return mpi::collectively(comm, [&] { return std::make_unique<data::IdxRows>(images, labels); });
}

// Rows of a round written by data::IdxRows at most this many bytes at a time (uncompressed
// data files): a buffer that stays mapped between pieces, instead of the round's rows twice.
constexpr std::size_t kStoredPieceBytes = std::size_t{2} << 20;

data::RowSpec row_spec(const IngestOptions& options, const data::ImageShape& natural) {
  data::RowSpec spec;
  spec.row_shape.channels = options.grayscale ? 1 : natural.channels;
  spec.resize_height = options.resize_height;
  spec.resize_width = options.resize_width;
  const int height = options.resize_height > 0 ? options.resize_height : natural.height;
  const int width = options.resize_width > 0 ? options.resize_width : natural.width;
  if (options.tile > 0) {
    spec.mode = data::RowSpec::Mode::kTiles;
    spec.row_shape.height = spec.row_shape.width = options.tile;
  } else if (options.patches > 0) {
    spec.mode = data::RowSpec::Mode::kPatches;
    spec.row_shape.height = spec.row_shape.width = options.patches;
    spec.per_image = options.per_image;
  } else {
    spec.row_shape.height = height;
    spec.row_shape.width = width;
  }
  return spec;
}

// Items each rank decodes per round: enough to fill the buffer with the rows of images the
// size of the first (photos of mixed sizes may exceed it by their spread; --batch overrides).
std::int64_t items_per_round(const IngestOptions& options, const data::RowSpec& spec,
                             const data::ImageShape& natural) {
  if (options.batch > 0) return options.batch;
  const int height = options.resize_height > 0 ? options.resize_height : natural.height;
  const int width = options.resize_width > 0 ? options.resize_width : natural.width;
  double rows_per_item = 1;
  if (spec.mode == data::RowSpec::Mode::kTiles)
    rows_per_item = static_cast<double>(data::tile_count(height, width, options.tile));
  if (spec.mode == data::RowSpec::Mode::kPatches) rows_per_item = options.per_image;
  const double item_bytes = std::max(rows_per_item * static_cast<double>(spec.row_shape.bytes()),
                                     static_cast<double>(natural.bytes()));
  const double buffer = static_cast<double>(options.buffer_mb) * 1024 * 1024;
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(buffer / std::max(1.0, item_bytes)));
}

std::string describe_inputs(const std::vector<Input>& inputs) {
  std::string text;
  for (const auto& input : inputs) {
    if (!text.empty()) text += " ";
    text += input.dataset.empty() ? input.path : input.path + ":" + input.dataset;
  }
  return text;
}

}  // namespace

void validate(const IngestOptions& options) {
  if (options.inputs.empty()) throw UsageError("no input given (--input SRC...)");
  if (options.output.empty()) throw UsageError("no output given (--output FILE)");
  if (options.tile < 0) throw UsageError(cat("--tile must be positive, got ", options.tile));
  if (options.patches < 0)
    throw UsageError(cat("--patches must be positive, got ", options.patches));
  if (options.tile > 0 && options.patches > 0)
    throw UsageError("--tile and --patches exclude each other");
  if (options.patches > 0 && options.per_image <= 0)
    throw UsageError(cat("--patches needs --per-image M with M >= 1, got ", options.per_image));
  if (options.patches == 0 && options.per_image != 0)
    throw UsageError("--per-image needs --patches N");
  if ((options.resize_height > 0) != (options.resize_width > 0) || options.resize_height < 0 ||
      options.resize_width < 0)
    throw UsageError("--resize needs HxW with both sides >= 1");
  if (options.batch < 0) throw UsageError(cat("--batch must be >= 0, got ", options.batch));
  if (options.buffer_mb < 1)
    throw UsageError(cat("--buffer-mb must be >= 1, got ", options.buffer_mb));
  if (options.deflate < 0 || options.deflate > 9)
    throw UsageError(cat("--deflate must be 0..9, got ", options.deflate));
  if (options.chunk_kb < 1)
    throw UsageError(cat("--chunk-kb must be >= 1, got ", options.chunk_kb));
  constexpr int kMaxSide = 1 << 14;
  for (int side : {options.tile, options.patches, options.resize_height, options.resize_width})
    if (side > kMaxSide)
      throw UsageError(cat("image side ", side, " is larger than the limit of ", kMaxSide));
}

void run_ingest(const IngestOptions& options, const StageContext& context) {
  validate(options);
  const auto& comm = context.comm;
  // The files behind the inputs ("file.h5:/images" names file.h5), so the output can never
  // replace one of them.
  std::vector<std::string> input_paths;
  for (const auto& spec : options.inputs) {
    std::error_code error;
    const size_t colon = spec.rfind(':');
    const bool dataset_spec = !fs::exists(spec, error) && colon != std::string::npos && colon > 0;
    input_paths.push_back(dataset_spec ? spec.substr(0, colon) : spec);
  }
  input_paths.insert(input_paths.end(), options.labels.begin(), options.labels.end());
  check_output_path(options.output, input_paths, context.common.force, comm);

  // Rank 0 classifies the inputs and broadcasts the result, so every rank takes the same
  // path even if nodes see the file system differently.
  std::vector<Input> inputs = mpi::collectively(comm, [&] {
    std::vector<Input> found;
    if (!comm.is_root()) return found;
    for (const auto& spec : options.inputs) found.push_back(classify(spec));
    for (const auto& path : options.labels) {
      Input input = classify(path);
      if (input.kind != InputKind::kIdxLabels)
        throw UsageError(cat("--labels ", path, " is not a one-dimensional IDX file"));
      found.push_back(input);
    }
    return found;
  });
  {
    std::vector<std::string> paths, datasets;
    std::vector<std::int32_t> kinds;
    for (const auto& input : inputs) {
      paths.push_back(input.path);
      datasets.push_back(input.dataset);
      kinds.push_back(static_cast<std::int32_t>(input.kind));
    }
    comm.broadcast(paths, 0);
    comm.broadcast(datasets, 0);
    kinds.resize(paths.size());
    comm.broadcast(std::span(kinds), 0);
    inputs.clear();
    for (size_t i = 0; i < paths.size(); ++i)
      inputs.push_back({static_cast<InputKind>(kinds[i]), paths[i], datasets[i]});
  }
  auto source = open_source(inputs, comm);
  const data::ImageShape natural = source->natural_shape();
  const data::RowSpec spec = mpi::collectively(comm, [&] {
    data::RowSpec made = row_spec(options, natural);
    if (made.mode == data::RowSpec::Mode::kWhole && made.row_shape.bytes() == 0)
      throw Error(cat("images of size ", made.row_shape.height, "x", made.row_shape.width));
    return made;
  });
  data::RowSpec seeded = spec;
  seeded.seed = context.common.seed;

  data::DataFileLayout layout{spec.row_shape, source->has_labels(),
                              spec.mode == data::RowSpec::Mode::kTiles, options.deflate,
                              static_cast<std::uint64_t>(options.chunk_kb) * 1024};
  data::DataFileWriter writer(comm, options.output, layout);

  const std::int64_t items = source->size();
  mpi::collectively(comm, [&] {
    if (items == 0)
      throw Error(cat("no images to ingest: ", describe_inputs(inputs), " holds none"));
  });
  // Never more than an even share, so small inputs still spread over every rank.
  const std::int64_t even_share =
      std::max<std::int64_t>(1, (items + comm.size() - 1) / comm.size());
  const std::int64_t per_rank = std::min(items_per_round(options, spec, natural), even_share);
  const std::int64_t per_round = per_rank * comm.size();
  Progress progress("ingest", items, "images", context.show_progress());
  std::int64_t skipped = 0;
  data::RowBatch batch;
  data::ItemSink sink{[&](std::int64_t index, data::SourceItem&& item) {
                        const std::string name = item.name;
                        try {
                          data::append_rows(seeded, index, std::move(item), batch);
                        } catch (const Error& error) {
                          sink.bad(index, name, error.what());
                        }
                      },
                      [&](std::int64_t, const std::string& name, const std::string& why) {
                        if (!options.skip_bad) throw Error(why);
                        ++skipped;
                        print_warning(cat("skipped ", name, ": ", why), comm.rank());
                      }};

  const std::unique_ptr<data::IdxRows> stored = open_stored_rows(inputs, spec, natural, comm);
  // Deflated chunks are written whole in one collective call per round, as append(batch)
  // does: a chunk split over two calls would be read back, inflated and deflated again.
  const std::int64_t piece_rows =
      options.deflate == 0
          ? std::max<std::int64_t>(
                1, static_cast<std::int64_t>(kStoredPieceBytes / spec.row_shape.bytes()))
          : per_rank;

  for (std::int64_t round_start = 0; round_start < items; round_start += per_round) {
    const std::int64_t first = std::min(items, round_start + comm.rank() * per_rank);
    const std::int64_t count = std::min(per_rank, items - first);
    batch.clear();
    if (stored) {
      mpi::collectively(
          comm, [&] { stored->read_labels_and_names(first, count, batch.labels, batch.names); });
      writer.append(batch, piece_rows, [&](std::int64_t at, std::int64_t rows, std::uint8_t* out) {
        mpi::collectively(comm, [&] { stored->read_pixels(first + at, rows, out); });
      });
    } else {
      mpi::collectively(comm, [&] { source->read(first, count, spec.row_shape.channels, sink); });
      writer.append(batch);
    }
    progress.update(std::min(items, round_start + per_round));
  }
  batch.clear();
  const std::int64_t skipped_total = comm.allreduce_sum(skipped);
  mpi::collectively(comm, [&] {
    if (writer.rows() == 0)
      throw Error(cat("no rows to write: all ", items, " inputs were skipped"));
  });
  writer.finish({source->classes(), describe_inputs(inputs), skipped_total});
  progress.finish();

  const double seconds = progress.seconds();
  const double megabytes = static_cast<double>(writer.bytes_written()) / 1e6;
  if (context.show_progress())
    std::fprintf(stderr,
                 "ingest: wrote %lld rows of %dx%dx%d to %s (%.1f MB of pixels, %.1f MB/s)%s\n",
                 static_cast<long long>(writer.rows()), spec.row_shape.height, spec.row_shape.width,
                 spec.row_shape.channels, options.output.c_str(), megabytes,
                 seconds > 0 ? megabytes / seconds : 0.0,
                 skipped_total > 0 ? cat(", skipped ", skipped_total, " bad inputs").c_str() : "");
  mpi::collectively(comm, [&] {
    context.metrics.write(
        JsonObject()
            .add("stage", "ingest")
            .add("event", "done")
            .add("output", options.output)
            .add("items", items)
            .add("rows", writer.rows())
            .add("skipped", skipped_total)
            .add("ranks", comm.size())
            .add("seconds", seconds)
            .add("images_per_s", seconds > 0 ? static_cast<double>(items) / seconds : 0.0)
            .add("mb_per_s", seconds > 0 ? megabytes / seconds : 0.0));
  });
}

}  // namespace aepipe::stages
