#pragma once
// Reference points for the report's codec chart, measured by the report itself on the test
// images of a codes file (all of them, or an evenly spaced sample of at most
// kMaxBaselineImages) so that every job's chart has them, not only jobs with
// bench/rate_distortion.sh's table:
//   PCA   with as many components as the codes store values per image, fitted on the
//         model's training data (stages/pca_baseline.hpp), its codes quantised as
//         `aepipe encode --bits B` quantises (per-dimension uniform levels, range fitted on
//         the codes being stored) at the codes' depth and at 4, 6 and 8 bits, plus float32;
//         rate = the bytes HDF5 stores for those codes written as a codes file's /codes
//         (report/stored_codes.hpp, the codes file's deflate level) * 8 / pixels, which is
//         what `aepipe evaluate --codes` counts for the model's codes;
//   JPEG  stb's encoder on one mosaic of the images (report/jpeg_mosaic.hpp).
// PSNR is over every pixel of the measured images, as `aepipe evaluate --codes` computes it.
#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include "data/image.hpp"
#include "nn/autoencoder.hpp"
#include "nn/normalisation.hpp"

#include "report/rate_distortion.hpp"
#include "stages/context.hpp"
#include "stages/evaluate_codes.hpp"
#include "stages/pca_baseline.hpp"
#include "stages/report.hpp"

namespace aepipe::stages {

inline constexpr std::int64_t kMaxBaselineImages = 10000;

struct BaselinePoints {
  std::string pca_series, jpeg_series;  // legend names ("" when not measured)
  std::vector<report::RatePoint> pca;   // ascending rate
  std::vector<report::RatePoint> jpeg;  // ascending rate
  std::int64_t images = 0;              // images measured
  std::vector<std::string> notes;       // what was measured how, and what was skipped, as text
};

// One PCA point: `codes` [k, n] (one column per image; the PCA codes of `images`
// [n, H, W, C] uint8) stored at `bits` (0: float32, else levels of a quantiser fitted on these
// codes), decoded by `network`, compared with the images over every value. Its rate counts
// the bytes report::stored_code_bytes measures at `deflate_level` (returned too), written to
// `scratch` in the chunks encode would give them for a data file of these n images in chunks
// of `data_chunk_rows` (0: about 1 MiB of codes). Named "PCA <k>-d <B>-bit" or
// "PCA <k>-d float32".
struct PcaPoint {
  report::RatePoint point;
  std::uint64_t stored_bytes = 0;
};
PcaPoint quantised_pca_point(nn::Autoencoder<float>& network,
                             const nn::Normalisation& normalisation, const Eigen::MatrixXf& codes,
                             int bits, int deflate_level, const std::uint8_t* images,
                             const data::ImageShape& shape, const std::string& scratch,
                             std::int64_t data_chunk_rows = 0);

// Collective: every rank opens the codes file and its model and fits PCA on its share of
// the training data; rank 0 measures the points (the others return none). `quality` is the
// codes file's figures (its data file); `scratch_folder` holds a short-lived HDF5 file.
BaselinePoints measure_baselines(const ReportOptions& options, const CodesQuality& quality,
                                 const std::string& scratch_folder, PcaBaselineCache& baselines,
                                 const StageContext& context);

}  // namespace aepipe::stages
