#pragma once
// `aepipe report --output DIR [--model model.h5] [--input test.h5] [--codes codes.h5]
// [--neighbours n.h5] [--job job.ini] [--metrics-input metrics.jsonl] [--rate-distortion T]`:
// one self-contained HTML page (DIR/index.html, PNGs beside it, charts as inline SVG) showing
// a job's model (first-layer filters, reconstructions beside PCA, training curves), its codec
// (bits per pixel against PSNR), its retrieval (queries and their neighbours, recall and
// precision) and how it ran (config, machine, stage times). Sections whose inputs are not
// given say so. DIR is written as a temporary folder beside it and renamed when complete.
#include <cstdint>
#include <string>

#include "stages/context.hpp"

namespace aepipe::stages {

struct ReportOptions {
  std::string output;           // the folder to write
  std::string model;            // filters, reconstructions, training curves
  std::string input;            // test images for the reconstructions (needs model)
  std::string baseline_data;    // PCA is fitted here; "" = the model's training data
  std::string codes;            // evaluated like `aepipe evaluate --codes`
  std::string neighbours;       // evaluated like `aepipe evaluate --neighbours`
  std::string job;              // shown verbatim; "" = the --config file, if any
  std::string metrics_input;    // stage times and figures; "" = the --metrics file, if it exists
  std::string rate_distortion;  // bench/rate_distortion.sh's table: PCA and JPEG points
  std::int64_t samples = 16;    // test images shown
};

// `context` without progress output or metrics: the report measures with other stages' code
// and prints one line of its own.
inline StageContext quiet_context(const StageContext& context) {
  CommonOptions common = context.common;
  common.quiet = true;
  common.metrics.clear();
  return {context.comm, common, MetricsLog("", false)};
}

void run_report(const ReportOptions& options, const StageContext& context);

}  // namespace aepipe::stages
