#include "stages/evaluate.hpp"

#include <chrono>
#include <optional>

#include "data/data_file_reader.hpp"
#include "mpi/agreement.hpp"
#include "nn/evaluation.hpp"
#include "nn/model_file.hpp"
#include "stages/model_inputs.hpp"
#include "stages/pca_baseline.hpp"
#include "util/error.hpp"

namespace aepipe::stages {

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
    const PcaBaseline pca =
        fit_pca_baseline(model, options.baseline_data, options.input, context.common.seed, comm);
    baseline_source = pca.source;
    baseline = nn::evaluate_reconstruction(*pca.fit.network, pca.normalisation, reader, all,
                                           nn::RowSelection::kAll, comm);
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
