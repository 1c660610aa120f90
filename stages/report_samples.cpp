#include "stages/report_samples.hpp"

#include <algorithm>
#include <cmath>

#include "codec/image_quality.hpp"
#include "data/data_file_reader.hpp"
#include "mpi/agreement.hpp"
#include "report/tile_grid.hpp"
#include "stages/model_inputs.hpp"
#include "stages/pca_baseline.hpp"
#include "util/error.hpp"

namespace aepipe::stages {
namespace {

// PSNR in dB of `decoded` against `original` (same size), "lossless" when equal.
std::string psnr_text(const std::vector<std::uint8_t>& original,
                      const std::vector<std::uint8_t>& decoded) {
  const double error = codec::squared_error(original.data(), decoded.data(), original.size());
  if (error == 0) return "lossless";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f dB",
                codec::psnr_from_mse(error / static_cast<double>(original.size())));
  return text;
}

}  // namespace

std::vector<std::int64_t> evenly_spaced_rows(std::int64_t rows, std::int64_t count) {
  count = std::min(rows, count);
  std::vector<std::int64_t> picked;
  for (std::int64_t i = 0; i < count; ++i) picked.push_back(i * rows / count);
  return picked;
}

std::vector<std::uint8_t> reconstruct(nn::Autoencoder<float>& network,
                                      const nn::Normalisation& normalisation,
                                      const std::vector<std::uint8_t>& pixels, Eigen::Index count) {
  Eigen::MatrixXf input;
  normalisation.apply(pixels.data(), count, input);  // [D, count]
  Eigen::MatrixXf output = network.forward(input);
  normalisation.invert(output);
  if (normalisation.mode == nn::NormalisationMode::kPatch) {
    const Eigen::Index dim = output.rows();
    Eigen::Map<const Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>> bytes(
        pixels.data(), dim, count);
    const Eigen::RowVectorXf means = bytes.cast<float>().colwise().mean() / 255.0f;
    output.rowwise() += means - Eigen::RowVectorXf::Constant(count, 0.5f);
  }
  std::vector<std::uint8_t> out(static_cast<std::size_t>(output.size()));
  for (Eigen::Index i = 0; i < output.size(); ++i) {
    const float value = output.data()[i] > 0.0f ? std::min(output.data()[i], 1.0f) : 0.0f;
    out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(std::lround(value * 255.0f));
  }
  return out;
}

report::Section samples_section(const ReportOptions& options, const nn::LoadedModel& model,
                                ReportFolder& folder, PcaBaselineCache& baselines,
                                const StageContext& context) {
  const auto& comm = context.comm;
  report::Section section{"reconstructions", "Reconstructions", ""};
  const data::DataFileReader reader =
      mpi::collectively(comm, [&] { return data::DataFileReader(options.input); });
  require_model_shape(model, options.model, reader.shape(), options.input, comm);
  mpi::collectively(comm, [&] {
    if (reader.rows() == 0) throw Error(cat(options.input, " holds no images"));
  });
  PcaBaseline* pca = nullptr;
  if (model.info.kind != "pca")
    pca = &baselines.fit(model, options.baseline_data, options.input, context.common.seed, comm);

  mpi::collectively(comm, [&] {
    if (!comm.is_root()) return;
    const std::vector<std::int64_t> rows = evenly_spaced_rows(reader.rows(), options.samples);
    const auto count = static_cast<Eigen::Index>(rows.size());
    const data::ImageShape shape = reader.shape();
    std::vector<std::uint8_t> originals(rows.size() * shape.bytes());
    for (std::size_t i = 0; i < rows.size(); ++i)
      reader.read_images(rows[i], 1, originals.data() + i * shape.bytes());
    std::vector<std::vector<std::uint8_t>> shown = {
        originals, reconstruct(*model.network, model.info.normalisation, originals, count)};
    if (pca) shown.push_back(reconstruct(*pca->fit.network, pca->normalisation, originals, count));

    const report::GridLayout layout{static_cast<int>(shown.size()),
                                    static_cast<int>(count),
                                    shape,
                                    report::zoom_for(shape),
                                    1,
                                    0,
                                    0};
    report::TileGrid grid(layout, 255);
    for (std::size_t r = 0; r < shown.size(); ++r)
      for (Eigen::Index i = 0; i < count; ++i)
        grid.place(static_cast<int>(r), static_cast<int>(i),
                   shown[r].data() + static_cast<std::size_t>(i) * shape.bytes());
    const auto code_size = model.network->architecture().code_size();
    std::string caption = cat("Top: ", count, " images of ", options.input, " (rows ", rows.front(),
                              ", ", rows.size() > 1 ? cat(rows[1], ", ... ") : "", "evenly spaced",
                              "). Middle: ", options.model, " (", code_size, "-d code; PSNR ",
                              psnr_text(originals, shown[1]), " over these images).");
    if (pca)
      caption += cat(" Bottom: PCA with ", code_size, " components fitted on ", pca->source,
                     pca->in_sample ? " (the model's training data is gone: in-sample)" : "",
                     " (PSNR ", psnr_text(originals, shown[2]), ").");
    else
      caption += " The model is PCA itself: no PCA row.";
    if (model.info.normalisation.mode == nn::NormalisationMode::kPatch)
      caption += " The model removes each image's mean (patch normalisation): it is added back.";
    section.body += "<figure>\n" +
                    folder.add_png("reconstructions.png", grid.image(),
                                   "test images, their reconstructions by the model and by PCA") +
                    "<figcaption>" + report::escape_html(caption) + "</figcaption>\n</figure>\n";
  });
  return section;
}

}  // namespace aepipe::stages
