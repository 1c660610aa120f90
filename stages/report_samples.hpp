#pragma once
// The report's reconstructions: a fixed sample of test images (evenly spaced rows) above the
// model's reconstructions and those of PCA with the same code size. Collective (PCA is fitted
// by every rank); rank 0 writes the picture.
#include <vector>

#include "nn/model_file.hpp"
#include "report/html.hpp"
#include "stages/context.hpp"
#include "stages/pca_baseline.hpp"
#include "stages/report.hpp"
#include "stages/report_folder.hpp"

namespace aepipe::stages {

// `count` rows of `rows` spread evenly from row 0: i * rows / count (all rows if fewer).
std::vector<std::int64_t> evenly_spaced_rows(std::int64_t rows, std::int64_t count);

// Images [count, D] uint8 row-major -> the network's reconstructions, same layout. A patch-
// normalised model loses each image's mean, so it is added back from the original.
std::vector<std::uint8_t> reconstruct(nn::Autoencoder<float>& network,
                                      const nn::Normalisation& normalisation,
                                      const std::vector<std::uint8_t>& pixels, Eigen::Index count);

report::Section samples_section(const ReportOptions& options, const nn::LoadedModel& model,
                                ReportFolder& folder, PcaBaselineCache& baselines,
                                const StageContext& context);

}  // namespace aepipe::stages
