#pragma once
// `aepipe evaluate --model model.h5 --input data.h5`: reconstruction quality of a model on a
// data file (per-image SSE in pixel units, PSNR, mean code activation) beside PCA with the
// same code size, fitted on the model's training data.
#include <string>

#include "stages/context.hpp"

namespace aepipe::stages {

struct EvaluateOptions {
  std::string model;
  std::string input;
  std::string baseline_data;  // PCA is fitted here; "" = the model's training data
  bool baseline = true;
};

void run_evaluate(const EvaluateOptions& options, const StageContext& context);

}  // namespace aepipe::stages
