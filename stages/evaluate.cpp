#include "stages/evaluate.hpp"

#include <chrono>
#include <filesystem>

#include "data/data_file_reader.hpp"
#include "mpi/agreement.hpp"
#include "nn/evaluation.hpp"
#include "nn/model_file.hpp"
#include "nn/pca.hpp"
#include "stages/model_inputs.hpp"
#include "util/error.hpp"

namespace aepipe::stages {
namespace {

// The `input = ...` line of a model's stored training config.
std::string training_input(const std::string& config) {
  const std::string key = "input = ";
  const size_t at = config.find(key);
  if (at == std::string::npos) return "";
  const size_t end = config.find('\n', at);
  return config.substr(at + key.size(),
                       end == std::string::npos ? std::string::npos : end - at - key.size());
}

}  // namespace

void run_evaluate(const EvaluateOptions& options, const StageContext& context) {
  if (options.model.empty()) throw UsageError("no model given (--model model.h5)");
  if (options.input.empty()) throw UsageError("no data given (--input data.h5)");
  const auto& comm = context.comm;
  const auto start = std::chrono::steady_clock::now();
  nn::LoadedModel model = load_model(options.model, comm);
  const data::DataFileReader reader =
      mpi::collectively(comm, [&] { return data::DataFileReader(options.input); });
  require_model_shape(model, options.model, reader.shape(), options.input, comm);
  const data::RowSplit all{reader.rows(), reader.chunk_rows(), 0.0, context.common.seed};
  const nn::Reconstruction result = nn::evaluate_reconstruction(
      *model.network, model.info.normalisation, reader, all, nn::RowSelection::kAll, comm);

  std::optional<nn::Reconstruction> baseline;
  std::string baseline_source;
  const auto code_size = model.network->architecture().code_size();
  if (options.baseline && model.info.kind != "pca") {
    baseline_source =
        options.baseline_data.empty() ? training_input(model.info.config) : options.baseline_data;
    const bool usable = mpi::collectively(
        comm, [&] { return !baseline_source.empty() && std::filesystem::exists(baseline_source); });
    if (!usable) baseline_source = options.input;  // in-sample: an optimistic baseline
    const data::DataFileReader fit_reader =
        mpi::collectively(comm, [&] { return data::DataFileReader(baseline_source); });
    const data::RowSplit fit_rows{fit_reader.rows(), fit_reader.chunk_rows(), 0.0,
                                  context.common.seed};
    nn::Normalisation unit;  // PCA on pixels / 255, as `train --arch pca:K` does by default
    unit.mean = Eigen::VectorXf::Zero(static_cast<Eigen::Index>(reader.shape().bytes()));
    unit.scale = Eigen::VectorXf::Ones(unit.mean.size());
    nn::PcaFit pca = nn::fit_pca(fit_reader, fit_rows, unit, code_size, comm);
    baseline =
        nn::evaluate_reconstruction(*pca.network, unit, reader, all, nn::RowSelection::kAll, comm);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (comm.is_root()) {
    std::printf("%-28s %14s %10s %12s\n", "model", "SSE per image", "PSNR dB", "mean code");
    std::printf("%-28s %14.4f %10.3f %12.4f\n", options.model.c_str(), result.sse_per_image,
                result.psnr, result.mean_code);
    if (baseline)
      std::printf("%-28s %14.4f %10.3f %12.4f\n", cat("PCA-", code_size).c_str(),
                  baseline->sse_per_image, baseline->psnr, baseline->mean_code);
    std::printf("(%0.f images of %s", result.images, options.input.c_str());
    if (baseline) std::printf("; PCA fitted on %s", baseline_source.c_str());
    std::printf(")\n");
    std::fflush(stdout);
  }
  mpi::collectively(comm, [&] {
    JsonObject event;
    event.add("stage", "evaluate")
        .add("model", options.model)
        .add("input", options.input)
        .add("images", result.images)
        .add("sse_per_image", result.sse_per_image)
        .add("psnr", result.psnr)
        .add("mean_code_activation", result.mean_code)
        .add("seconds", seconds);
    if (baseline)
      event.add("pca_sse_per_image", baseline->sse_per_image)
          .add("pca_psnr", baseline->psnr)
          .add("pca_fitted_on", baseline_source);
    context.metrics.write(event);
  });
}

}  // namespace aepipe::stages
