#include "stages/report_model.hpp"

#include <algorithm>
#include <numeric>

#include "report/contrast.hpp"
#include "report/tile_grid.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace aepipe::stages {
namespace {

std::vector<double> epochs(std::size_t count) {
  std::vector<double> numbers(count);
  std::iota(numbers.begin(), numbers.end(), 1.0);
  return numbers;
}

}  // namespace

report::Section filters_section(const nn::LoadedModel& model, const std::string& model_path,
                                ReportFolder& folder) {
  report::Section section{"filters", "First-layer filters", ""};
  auto& network = *model.network;
  const auto weights = network.weight(0);  // [out, in]
  const data::ImageShape shape = model.info.shape;
  if (weights.cols() != static_cast<Eigen::Index>(shape.bytes()))
    throw Error(cat(model_path, ":/encoder/0/W has ", weights.cols(), " inputs but the model's ",
                    shape.height, "x", shape.width, "x", shape.channels, " images have ",
                    shape.bytes(), " pixels"));
  const int shown = static_cast<int>(std::min<Eigen::Index>(weights.rows(), kMaxFilters));
  const auto [rows, cols] = report::square_grid(shown, 40);
  report::TileGrid grid({rows, cols, shape, report::zoom_for(shape), 1, 0, 0}, 255);
  Eigen::VectorXf row;
  for (int j = 0; j < shown; ++j) {
    row = weights.row(j).transpose();
    const auto tile = report::contrast_tile(std::span<const float>(row.data(), row.size()));
    grid.place(j / cols, j % cols, tile.data());
  }
  section.body += "<figure>\n" +
                  folder.add_png("filters.png", grid.image(), "first-layer filters") +
                  "<figcaption>" +
                  report::escape_html(cat(
                      shown, shown < weights.rows() ? cat(" of the ", weights.rows()) : "",
                      " filters of /encoder/0/W (", weights.rows(), " x ", weights.cols(),
                      "), each row shown as a ", shape.height, "x", shape.width,
                      shape.channels == 3 ? " colour" : "",
                      " image, contrast-normalised per tile: mid-grey is the tile's mean, white "
                      "and black its largest positive and negative deviations.")) +
                  "</figcaption>\n</figure>\n";
  return section;
}

report::Section training_section(const nn::LoadedModel& model, const std::string& model_path,
                                 ReportFolder& folder) {
  report::Section section{"training", "Training", ""};
  const nn::History& history = model.info.history;
  const std::size_t count = history.train_loss.size();
  if (count == 0) {
    section.body =
        report::html_note(cat(model_path, " has no training history",
                              model.info.kind == "pca" ? " (PCA is fitted in closed form)" : ""));
    return section;
  }
  const std::vector<double> x = epochs(count);
  const auto chart = [&](const std::string& id, const std::string& title,
                         const std::string& y_label, std::vector<report::Series> series) {
    return folder.add_chart({id, title, "epoch", y_label, std::move(series), 560, 340});
  };
  section.body += "<div class=\"charts\">\n";
  section.body += chart("loss", "Loss per epoch", "loss (training objective)",
                        {{"training", x, history.train_loss, true},
                         {"validation", x, history.validation_loss, true}});
  section.body += chart("learning-rate", "Learning rate", "learning rate (end of epoch)",
                        {{"learning rate", x, history.learning_rate, true}});
  section.body += chart("samples-per-s", "Throughput", "samples per second",
                        {{"samples/s", x, history.samples_per_s, true}});
  section.body += "</div>\n";
  const double seconds = std::accumulate(history.seconds.begin(), history.seconds.end(), 0.0);
  section.body += report::html_paragraph(
      cat(count, " epochs in ", format_seconds(seconds),
          " of training, from the model's /history (epochs of layer-wise pretraining, if any, "
          "come first)."));
  return section;
}

}  // namespace aepipe::stages
