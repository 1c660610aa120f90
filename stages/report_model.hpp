#pragma once
// The report's sections drawn from a model file alone: its first layer's filters and its
// training history. Rank 0 only.
#include <string>

#include "nn/model_file.hpp"
#include "report/html.hpp"
#include "stages/report_folder.hpp"

namespace aepipe::stages {

// The rows of /encoder/0/W ([out, in], in = H * W * C) as a grid of image tiles, each
// contrast-normalised on its own (report/contrast.hpp); at most kMaxFilters of them.
inline constexpr int kMaxFilters = 400;
report::Section filters_section(const nn::LoadedModel& model, const std::string& model_path,
                                ReportFolder& folder);

// Charts of /history: training and validation loss, learning rate and samples/s per epoch.
report::Section training_section(const nn::LoadedModel& model, const std::string& model_path,
                                 ReportFolder& folder);

}  // namespace aepipe::stages
