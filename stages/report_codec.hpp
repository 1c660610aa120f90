#pragma once
// The report's codec section: bits per pixel against PSNR for this job's codes (a codes file
// evaluated as `aepipe evaluate --codes` does, or the evaluate events of a metrics file),
// beside PCA's and JPEG's points: measured here on the codes' test images when a codes file
// is given (stages/report_baselines.hpp), and read from bench/rate_distortion.sh's table
// when one is given. Collective (the codes are decoded and PCA is fitted by every rank);
// rank 0 builds the section.
#include <vector>

#include "report/html.hpp"
#include "report/json_lines.hpp"
#include "stages/context.hpp"
#include "stages/pca_baseline.hpp"
#include "stages/report.hpp"
#include "stages/report_folder.hpp"

namespace aepipe::stages {

report::Section codec_section(const ReportOptions& options,
                              const std::vector<report::JsonEvent>& metrics, ReportFolder& folder,
                              PcaBaselineCache& baselines, const StageContext& context);

}  // namespace aepipe::stages
