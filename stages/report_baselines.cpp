#include "stages/report_baselines.hpp"

#include <algorithm>
#include <set>

#include "codec/batch_coding.hpp"
#include "codec/codes_file.hpp"
#include "codec/image_quality.hpp"
#include "codec/quantiser.hpp"
#include "data/data_file_reader.hpp"
#include "mpi/agreement.hpp"
#include "report/jpeg_mosaic.hpp"
#include "report/stored_codes.hpp"
#include "stages/decode_inputs.hpp"
#include "stages/pca_baseline.hpp"
#include "stages/report_samples.hpp"
#include "util/error.hpp"

namespace aepipe::stages {
namespace {

constexpr std::uint64_t kMaxBaselineBytes = std::uint64_t{1} << 26;  // 64 MiB of pixels
constexpr int kPcaDepths[] = {4, 6, 8};                              // besides the codes' own
const std::vector<int> kJpegQualities = {10, 20, 30, 50, 75};
constexpr double kLosslessPsnr = 100.0;  // as `aepipe evaluate --codes`

// The measured images: rows of the data file, their pixels [count, H, W, C].
struct Sample {
  std::vector<std::int64_t> rows;
  std::vector<std::uint8_t> pixels;
  data::ImageShape shape;
  std::int64_t of = 0;  // rows of the data file
};

// Reads the sampled rows chunk by chunk (each chunk holding one is decompressed once).
Sample read_sample(const data::DataFileReader& reader) {
  Sample sample;
  sample.shape = reader.shape();
  sample.of = reader.rows();
  const auto row_bytes = static_cast<std::int64_t>(sample.shape.bytes());
  const std::int64_t cap = std::min<std::int64_t>(
      kMaxBaselineImages,
      std::max<std::int64_t>(1, static_cast<std::int64_t>(kMaxBaselineBytes) / row_bytes));
  sample.rows = evenly_spaced_rows(reader.rows(), cap);
  sample.pixels.resize(sample.rows.size() * sample.shape.bytes());
  std::vector<std::uint8_t> block;
  std::size_t next = 0;
  while (next < sample.rows.size()) {
    const std::int64_t first = sample.rows[next] / reader.chunk_rows() * reader.chunk_rows();
    const std::int64_t count = std::min(reader.chunk_rows(), reader.rows() - first);
    block.resize(static_cast<std::size_t>(count * row_bytes));
    reader.read_images(first, count, block.data());
    for (; next < sample.rows.size() && sample.rows[next] < first + count; ++next)
      std::copy_n(block.data() + (sample.rows[next] - first) * row_bytes, row_bytes,
                  sample.pixels.data() + next * sample.shape.bytes());
  }
  return sample;
}

// PSNR of `decoded` against `original` (as many values), over every value.
double psnr_of(const std::uint8_t* original, const std::vector<std::uint8_t>& decoded) {
  const double error = codec::squared_error(original, decoded.data(), decoded.size());
  return error > 0 ? codec::psnr_from_mse(error / static_cast<double>(decoded.size()))
                   : kLosslessPsnr;
}

std::string depth_name(int bits) {
  return bits > 0 ? cat(bits, "-bit") : std::string("float32");
}

std::string sample_text(const Sample& sample, const std::string& data_path) {
  const auto count = static_cast<std::int64_t>(sample.rows.size());
  if (count == sample.of) return cat("all ", count, " images of ", data_path);
  return cat(count, " evenly spaced images of the ", sample.of, " of ", data_path, " (rows ",
             sample.rows[0], count > 1 ? cat(", ", sample.rows[1], ", ...") : "", "; at most ",
             kMaxBaselineImages, " images and 64 MiB of pixels are measured)");
}

}  // namespace

PcaPoint quantised_pca_point(nn::Autoencoder<float>& network,
                             const nn::Normalisation& normalisation, const Eigen::MatrixXf& codes,
                             int bits, int deflate_level, const std::uint8_t* images,
                             const data::ImageShape& shape, const std::string& scratch,
                             std::int64_t data_chunk_rows) {
  const Eigen::Index k = codes.rows(), n = codes.cols();
  codec::CodesLayout as_encoded;
  as_encoded.rows = n;
  as_encoded.code_size = k;
  as_encoded.bits = bits;
  const std::int64_t chunk_rows =
      data_chunk_rows > 0
          ? codec::code_chunk_rows(n, data_chunk_rows, static_cast<std::int64_t>(shape.bytes()),
                                   as_encoded)
          : 0;
  const report::StoredCodesLayout layout{n, k, bits, deflate_level, chunk_rows};
  PcaPoint result;
  Eigen::MatrixXf restored = codes;
  if (bits == 0) {
    // [k, n] column-major is [n, k] row-major: one code per row, as in /codes.
    result.stored_bytes = report::stored_code_bytes(
        std::span<const float>(codes.data(), static_cast<std::size_t>(codes.size())), layout,
        scratch);
  } else {
    // The quantiser's range is fitted on the codes being stored, as encode fits it on (a
    // sample of at most --sample-rows of) the codes it writes.
    std::vector<std::vector<float>> values(static_cast<std::size_t>(k));
    for (Eigen::Index j = 0; j < k; ++j)
      values[static_cast<std::size_t>(j)].assign(codes.row(j).begin(), codes.row(j).end());
    const codec::Quantiser quantiser = codec::fit_quantiser(values, bits);
    std::vector<std::uint16_t> levels(static_cast<std::size_t>(codes.size()));  // [n, k]
    for (Eigen::Index i = 0; i < n; ++i)
      for (Eigen::Index j = 0; j < k; ++j) {
        const std::uint16_t level = quantiser.quantise(codes(j, i), j);
        levels[static_cast<std::size_t>(i * k + j)] = level;
        restored(j, i) = quantiser.dequantise(level, j);
      }
    result.stored_bytes = report::stored_code_bytes(levels, layout, scratch);
  }
  std::vector<std::uint8_t> decoded;
  codec::decode_codes(network, normalisation, restored, decoded);
  const double pixels = static_cast<double>(n) * shape.height * shape.width;
  result.point = {cat("PCA ", k, "-d ", depth_name(bits)),
                  "PCA",
                  8.0 * static_cast<double>(result.stored_bytes) / pixels,
                  psnr_of(images, decoded),
                  {}};
  return result;
}

BaselinePoints measure_baselines(const ReportOptions& options, const CodesQuality& quality,
                                 const std::string& scratch_folder, PcaBaselineCache& baselines,
                                 const StageContext& context) {
  const auto& comm = context.comm;
  BaselinePoints points;
  if (quality.tiled) {
    points.notes.push_back(
        "PCA and JPEG points are measured for archives of whole images only, not for tiled "
        "photos.");
    return points;
  }
  DecodeInputs inputs = open_decode_inputs(options.codes, "", comm);
  const auto& codes = *inputs.codes;
  const data::DataFileReader reader =
      mpi::collectively(comm, [&] { return data::DataFileReader(quality.data_path); });
  const data::ImageShape shape = reader.shape();
  const auto dim = static_cast<std::int64_t>(shape.bytes());
  const std::int64_t components = codes.layout().values_per_row();
  // fit_pca's own limit: a [D, D] covariance of at most 4096^2.
  constexpr std::int64_t kMaxPcaDim = 4096;
  PcaBaseline* pca = nullptr;
  if (dim > kMaxPcaDim || components > dim)
    points.notes.push_back(cat("No PCA points: ", components, " components of ", dim,
                               "-value images are beyond the report's PCA (at most ", kMaxPcaDim,
                               " values)."));
  else
    pca = &baselines.fit(inputs.model, options.baseline_data, quality.data_path,
                         context.common.seed, comm, components);

  mpi::collectively(comm, [&] {
    if (!comm.is_root()) return;
    const Sample sample = read_sample(reader);
    points.images = static_cast<std::int64_t>(sample.rows.size());
    const std::string measured = sample_text(sample, quality.data_path);
    if (pca) {
      const int deflate_level = report::deflate_level_of(
          h5::Dataset::open(codes.file(), codes.layout().sparse() ? "/values" : "/codes"));
      Eigen::MatrixXf pca_codes;  // [components, images]
      codec::encode_pixels(*pca->fit.network, pca->normalisation, sample.pixels.data(),
                           points.images, pca_codes, nullptr);
      std::set<int> depths(std::begin(kPcaDepths), std::end(kPcaDepths));
      depths.insert(codes.layout().bits);
      depths.insert(0);
      const std::string scratch = scratch_folder + "/.pca-codes-scratch.h5";
      for (const int bits : depths)
        points.pca.push_back(quantised_pca_point(*pca->fit.network, pca->normalisation, pca_codes,
                                                 bits, deflate_level, sample.pixels.data(), shape,
                                                 scratch, reader.chunk_rows())
                                 .point);
      points.pca_series = cat("PCA ", components, "-d");
      points.notes.push_back(
          cat("PCA: ", components, " components",
              codes.layout().sparse() ? " (as many as the sparse codes keep per image)" : "",
              " fitted on ", pca->source,
              pca->in_sample ? " (the model's training data is gone: in-sample, optimistic)" : "",
              ", measured on ", measured,
              "; its codes quantised per dimension as aepipe encode "
              "--bits quantises them, and stored as a codes file stores them (deflate level ",
              deflate_level, "): bits per pixel = stored bytes x 8 / pixels."));
    }
    const report::MosaicLayout layout = report::mosaic_layout(points.images, shape);
    if (const std::string why = report::jpeg_mosaic_unsupported(layout); !why.empty()) {
      points.notes.push_back(cat("No JPEG points: ", why, "."));
    } else {
      for (const auto& jpeg :
           report::measure_jpeg_mosaic(sample.pixels.data(), layout, kJpegQualities))
        points.jpeg.push_back(
            {cat("JPEG q", jpeg.quality), "JPEG", jpeg.bits_per_pixel, jpeg.psnr, {}});
      points.jpeg_series = "JPEG (stb, mosaic)";
      points.notes.push_back(
          cat("JPEG: stb_image_write's encoder at qualities 10 to 75 on one ", layout.height(), "x",
              layout.width(), " mosaic of ", measured,
              " (no per-image headers), decoded and cut back into images: bits per pixel = JPEG "
              "bytes x 8 / pixels of the images. stb's encoder is not libjpeg-turbo (the bench's "
              "bench/jpeg_mosaic.py): expect slightly different figures."));
    }
    const auto by_rate = [](const report::RatePoint& a, const report::RatePoint& b) {
      return a.bits_per_pixel < b.bits_per_pixel;
    };
    std::sort(points.pca.begin(), points.pca.end(), by_rate);
    std::sort(points.jpeg.begin(), points.jpeg.end(), by_rate);
  });
  return points;
}

}  // namespace aepipe::stages
