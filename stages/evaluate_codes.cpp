#include "stages/evaluate_codes.hpp"

#include <chrono>
#include <cmath>
#include <cstring>

#include "codec/batch_coding.hpp"
#include "codec/image_quality.hpp"
#include "codec/source_rounds.hpp"
#include "data/data_file_reader.hpp"
#include "mpi/agreement.hpp"
#include "stages/decode_inputs.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/progress.hpp"
#include "util/recorded_path.hpp"

namespace aepipe::stages {
namespace {

// Sums over images (exact for the integer squared errors below 2^53).
struct QualitySums {
  double squared_error = 0;
  double values = 0;  // pixel values compared (H * W * C per image)
  double pixels = 0;  // pixels (H * W per image): the unit of bits per pixel
  double psnr = 0;    // sum of per-image PSNR (images with no error count as 100 dB)
  double ssim = 0;
  double images = 0;
};

struct ImageFigures {
  std::string name;
  std::int64_t height = 0, width = 0;
  double psnr = 0, ssim = 0;
};

constexpr double kLosslessPsnr = 100.0;  // stands in for +inf in means

void add_image(QualitySums& sums, const std::uint8_t* original, const std::uint8_t* decoded,
               const data::ImageShape& shape, ImageFigures* figures) {
  const double error = codec::squared_error(original, decoded, shape.bytes());
  const double values = static_cast<double>(shape.bytes());
  const double psnr = error > 0 ? codec::psnr_from_mse(error / values) : kLosslessPsnr;
  const double ssim = codec::ssim(original, decoded, shape);
  sums.squared_error += error;
  sums.values += values;
  sums.pixels += static_cast<double>(shape.height) * shape.width;
  sums.psnr += psnr;
  sums.ssim += ssim;
  sums.images += 1;
  if (figures) {
    figures->psnr = psnr;
    figures->ssim = ssim;
  }
}

// Bytes a decoder needs besides the codes: its float32 parameters and normalisation.
double decoder_bytes(nn::Autoencoder<float>& network, const nn::Normalisation& normalisation) {
  double values = 0;
  for (std::size_t l = network.architecture().encoder_layers(); l < network.layer_count(); ++l) {
    if (!network.tied(l)) values += static_cast<double>(network.weight(l).size());
    values += static_cast<double>(network.bias(l).size());
  }
  if (normalisation.mode == nn::NormalisationMode::kPixel)
    values += 2.0 * static_cast<double>(normalisation.mean.size());
  return 4.0 * values;
}

}  // namespace

CodesQuality measure_codes(const EvaluateCodesOptions& options, const StageContext& context) {
  const auto& comm = context.comm;
  DecodeInputs inputs = open_decode_inputs(options.codes, options.model, comm);
  const auto& codes = *inputs.codes;
  const std::string data_path = options.input.empty()
                                    ? resolve_recorded_path(codes.origin().source, options.codes)
                                    : options.input;
  if (data_path.empty())
    throw UsageError(cat(options.codes, " names no data file: give the originals with --input"));
  const data::DataFileReader originals =
      mpi::collectively(comm, [&] { return data::DataFileReader(data_path); });
  const auto shape = codes.origin().image_shape;
  mpi::collectively(comm, [&] {
    if (originals.rows() != codes.rows() || !(originals.shape() == shape) ||
        originals.has_tiles() != codes.layout().tiles)
      throw Error(cat(data_path, " (", originals.rows(), " rows of ", originals.shape().height, "x",
                      originals.shape().width, "x", originals.shape().channels,
                      originals.has_tiles() ? ", tiled" : "", ") is not what ", options.codes,
                      " encodes (", codes.rows(), " rows of ", shape.height, "x", shape.width, "x",
                      shape.channels, codes.layout().tiles ? ", tiled" : "", ")"));
  });
  auto& network = *inputs.model.network;
  const auto& normalisation = inputs.model.info.normalisation;
  QualitySums sums;
  std::vector<ImageFigures> figures;  // this rank's images, tiled archives only
  std::vector<std::uint8_t> original, decoded;
  Eigen::MatrixXf values;
  Progress progress("evaluate", codes.rows(), "images", context.show_progress());
  const auto row_bytes = static_cast<std::int64_t>(shape.bytes());

  if (!codes.layout().tiles) {
    const std::int64_t per_rank = std::max<std::int64_t>(1, (64 << 20) / row_bytes);
    const std::int64_t per_round = per_rank * comm.size();
    for (std::int64_t round_first = 0; round_first < codes.rows(); round_first += per_round) {
      const std::int64_t first = std::min(codes.rows(), round_first + comm.rank() * per_rank);
      const std::int64_t count = std::min(codes.rows() - first, per_rank);
      mpi::collectively(comm, [&] {
        codes.read_codes(first, count, values);
        codec::decode_codes(network, normalisation, values, decoded);
        original.resize(static_cast<size_t>(count * row_bytes));
        if (count > 0) originals.read_images(first, count, original.data());
        for (std::int64_t i = 0; i < count; ++i)
          add_image(sums, original.data() + i * row_bytes, decoded.data() + i * row_bytes, shape,
                    nullptr);
      });
      progress.update(std::min(codes.rows(), round_first + per_round));
    }
  } else {
    const h5::Dataset table =
        mpi::collectively(comm, [&] { return h5::Dataset::open(codes.file(), "/sources"); });
    codec::SourceRounds rounds(static_cast<std::int64_t>(table.rows()), codes.rows(), shape.height,
                               16);
    for (std::int64_t round = 0; round < rounds.rounds(comm.size()); ++round) {
      const codec::SourceShare share = rounds.next(table, round, comm);
      mpi::collectively(comm, [&] {
        rounds.check_tiles(share, codes.read_tiles(share.first_row, share.rows),
                           codes.path() + ":/tiles");
        rounds.check_tiles(share, originals.read_tiles(share.first_row, share.rows),
                           data_path + ":/tiles");
        codes.read_codes(share.first_row, share.rows, values);
        codec::decode_codes(network, normalisation, values, decoded);
        original.resize(static_cast<size_t>(share.rows * row_bytes));
        if (share.rows > 0) originals.read_images(share.first_row, share.rows, original.data());
        std::int64_t row = 0;
        for (size_t s = 0; s < share.records.size(); ++s) {
          const auto tiles_at = [&](const std::vector<std::uint8_t>& pixels) {
            return pixels.data() + row * row_bytes;
          };
          const data::Image a =
              codec::assemble_source(share, s, shape.height, shape.channels, tiles_at(original));
          const data::Image b =
              codec::assemble_source(share, s, shape.height, shape.channels, tiles_at(decoded));
          row += share.tile_rows[s];
          ImageFigures image{share.records[s].name, a.height, a.width, 0, 0};
          add_image(sums, a.pixels.data(), b.pixels.data(), {a.height, a.width, a.channels},
                    &image);
          figures.push_back(image);
        }
      });
      progress.update(rounds.rows_done());
    }
  }
  progress.finish();
  double totals[6] = {sums.squared_error, sums.values, sums.pixels,
                      sums.psnr,          sums.ssim,   sums.images};
  comm.allreduce_sum(std::span<double>(totals, 6));
  sums = {totals[0], totals[1], totals[2], totals[3], totals[4], totals[5]};

  // Per-image figures of a tiled archive, gathered on rank 0 in source order when they are
  // printed, as records (name length, name, height, width, PSNR, SSIM): names may hold any
  // byte, tabs and newlines included.
  const bool per_image = codes.layout().tiles && (options.per_image || sums.images <= 50);
  std::vector<char> records;
  if (per_image) {
    std::string packed;
    const auto put = [&](const auto& value) {
      packed.append(reinterpret_cast<const char*>(&value), sizeof value);
    };
    for (const auto& image : figures) {
      put(static_cast<std::uint64_t>(image.name.size()));
      packed += image.name;
      put(image.height);
      put(image.width);
      put(image.psnr);
      put(image.ssim);
    }
    records = mpi::or_abort(comm, [&] {
      return comm.gather_bytes(std::span<const char>(packed.data(), packed.size()), 0);
    });
  }

  CodesQuality quality;
  quality.data_path = data_path;
  quality.model_path = inputs.model_path;
  quality.tiled = codes.layout().tiles;
  quality.code_size = codes.code_size();
  quality.bits = codes.layout().bits;
  quality.images = sums.images;
  quality.code_bytes =
      mpi::collectively(comm, [&] { return static_cast<double>(codes.code_bytes()); });
  quality.side_bytes =
      static_cast<double>(codes.quantiser_bytes()) + decoder_bytes(network, normalisation);
  const double images = std::max(1.0, sums.images);  // source images of a tiled archive
  const double pixels = sums.pixels;
  const double mse = sums.values > 0 ? sums.squared_error / sums.values : 0.0;
  quality.bytes_per_image = quality.code_bytes / images;
  quality.psnr = mse > 0 ? codec::psnr_from_mse(mse) : kLosslessPsnr;
  quality.bits_per_pixel = pixels > 0 ? 8.0 * quality.code_bytes / pixels : 0.0;
  quality.bits_per_pixel_with_model =
      pixels > 0 ? 8.0 * (quality.code_bytes + quality.side_bytes) / pixels : 0.0;
  quality.psnr_mean_image = sums.images > 0 ? sums.psnr / sums.images : 0.0;
  quality.ssim = sums.images > 0 ? sums.ssim / sums.images : 0.0;
  quality.per_image_shown = per_image;
  quality.per_image = std::move(records);
  return quality;
}

void run_evaluate_codes(const EvaluateCodesOptions& options, const StageContext& context) {
  const auto& comm = context.comm;
  const auto start = std::chrono::steady_clock::now();
  const CodesQuality quality = measure_codes(options, context);
  const double seconds = seconds_since(start);

  if (comm.is_root()) {
    const auto& records = quality.per_image;
    if (quality.per_image_shown) {
      std::printf("%-40s %11s %9s %7s\n", "image", "size", "PSNR dB", "SSIM");
      size_t at = 0;
      const auto get = [&](auto& value) {
        std::memcpy(&value, records.data() + at, sizeof value);
        at += sizeof value;
      };
      while (at < records.size()) {
        ImageFigures image;
        std::uint64_t length = 0;
        get(length);
        image.name.assign(records.data() + at, length);
        at += length;
        get(image.height);
        get(image.width);
        get(image.psnr);
        get(image.ssim);
        std::printf("%-40s %11s %9.3f %7.4f\n", image.name.c_str(),
                    cat(image.height, "x", image.width).c_str(), image.psnr, image.ssim);
      }
    }
    std::printf(
        "%s: %.0f %s, %.1f bytes per image of codes (%s), %.4f bits per pixel "
        "(%.4f with the quantiser and the decoder's %.0f bytes amortised)\n",
        options.codes.c_str(), quality.images, quality.tiled ? "source images" : "images",
        quality.bytes_per_image, quality.bits > 0 ? cat(quality.bits, "-bit").c_str() : "float32",
        quality.bits_per_pixel, quality.bits_per_pixel_with_model, quality.side_bytes);
    std::printf(
        "PSNR %.3f dB over all pixels, %.3f dB mean per image; SSIM %.4f "
        "(against %s)\n",
        quality.psnr, quality.psnr_mean_image, quality.ssim, quality.data_path.c_str());
    std::fflush(stdout);
  }
  mpi::collectively(comm, [&] {
    JsonObject event;
    event.add("stage", "evaluate")
        .add("codes", options.codes)
        .add("model", quality.model_path)
        .add("input", quality.data_path)
        .add("images", quality.images)
        .add("code_size", quality.code_size)
        .add("bits", quality.bits)
        .add("bytes_per_image", quality.bytes_per_image)
        .add("bits_per_pixel", quality.bits_per_pixel)
        .add("bits_per_pixel_with_model", quality.bits_per_pixel_with_model)
        .add("psnr", quality.psnr)
        .add("psnr_mean_image", quality.psnr_mean_image)
        .add("ssim", quality.ssim)
        .add("seconds", seconds);
    context.metrics.write(event);
  });
}

}  // namespace aepipe::stages
