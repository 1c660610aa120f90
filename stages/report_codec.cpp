#include "stages/report_codec.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "mpi/agreement.hpp"
#include "report/rate_distortion.hpp"
#include "stages/evaluate_codes.hpp"
#include "stages/report_baselines.hpp"
#include "util/error.hpp"

namespace aepipe::stages {
namespace {

std::string fixed(double value, int decimals) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

// Points of this job from the metrics file: evaluate events of codes files.
std::vector<report::RatePoint> metrics_points(const std::vector<report::JsonEvent>& metrics) {
  std::vector<report::RatePoint> points;
  for (const auto& event : metrics) {
    const auto* bpp = event.find("bits_per_pixel");
    const auto* psnr = event.find("psnr");
    if (event.text("stage") != "evaluate" || !bpp || !psnr ||
        bpp->kind != report::JsonValue::Kind::kNumber ||
        psnr->kind != report::JsonValue::Kind::kNumber)
      continue;
    report::RatePoint point{event.text("codes"), "aepipe", bpp->number, psnr->number, {}};
    if (const auto* ssim = event.find("ssim");
        ssim && ssim->kind == report::JsonValue::Kind::kNumber)
      point.ssim = ssim->number;
    points.push_back(point);
  }
  return points;
}

}  // namespace

report::Section codec_section(const ReportOptions& options,
                              const std::vector<report::JsonEvent>& metrics, ReportFolder& folder,
                              PcaBaselineCache& pca_baselines, const StageContext& context) {
  const auto& comm = context.comm;
  report::Section section{"codec", "Codec: rate and distortion", ""};
  std::optional<CodesQuality> quality;
  BaselinePoints baselines;
  if (!options.codes.empty()) {
    quality = measure_codes({options.codes, "", "", false}, quiet_context(context));
    baselines = measure_baselines(options, *quality, folder.path(), pca_baselines, context);
  }
  mpi::collectively(comm, [&] {
    if (!comm.is_root()) return;
    // Series in legend order: name, points, images measured ("" unknown), joined by a line.
    struct Group {
      std::string name;
      std::vector<report::RatePoint> points;
      std::string images;
      bool line = false;
    };
    std::vector<Group> groups;
    if (quality) {
      groups.push_back(
          {"this model",
           {{options.codes, "aepipe", quality->bits_per_pixel, quality->psnr, quality->ssim}},
           fixed(quality->images, 0),
           false});
    } else if (auto points = metrics_points(metrics); !points.empty()) {
      groups.push_back({"this job (metrics)", std::move(points), "", false});
    }
    const std::string measured_images = std::to_string(baselines.images);
    if (!baselines.pca.empty())
      groups.push_back({baselines.pca_series, std::move(baselines.pca), measured_images, true});
    if (!baselines.jpeg.empty())
      groups.push_back({baselines.jpeg_series, std::move(baselines.jpeg), measured_images, true});
    if (!options.rate_distortion.empty()) {
      std::map<std::string, std::vector<report::RatePoint>> families;
      for (auto& point : report::read_rate_distortion(options.rate_distortion))
        families[point.family].push_back(point);
      for (const char* family : {"aepipe", "PCA", "JPEG", "other"})
        if (families.count(family))
          groups.push_back({cat(family, " (table)"), std::move(families[family]), "", false});
    }
    if (groups.empty()) {
      section.body = report::html_note(
          "No codec figures: give --codes (a codes file of test images), --metrics-input with "
          "an `aepipe evaluate --codes` event, or --rate-distortion (bench/rate_distortion.sh's "
          "table).");
      return;
    }
    report::Chart chart{
        "codec", "Bits per pixel against PSNR", "bits per pixel", "PSNR (dB)", {}, 720, 400};
    std::vector<std::vector<std::string>> rows;
    for (const auto& group : groups) {
      report::Series series{group.name, {}, {}, group.line};
      for (const auto& point : group.points) {
        series.x.push_back(point.bits_per_pixel);
        series.y.push_back(point.psnr);
        rows.push_back({group.name, point.name, fixed(point.bits_per_pixel, 4),
                        fixed(point.psnr, 3), point.ssim ? fixed(*point.ssim, 4) : "",
                        group.images});
      }
      chart.series.push_back(std::move(series));
    }
    section.body += folder.add_chart(chart);
    section.body +=
        report::html_table({"series", "codec", "bits/pixel", "PSNR dB", "SSIM", "images"}, rows);
    if (quality)
      section.body += report::html_paragraph(
          cat(options.codes, ": ", fixed(quality->bytes_per_image, 1), " bytes per image of ",
              quality->bits > 0 ? cat(quality->bits, "-bit") : std::string("float32"), " codes, ",
              fixed(quality->bits_per_pixel_with_model, 4),
              " bits per pixel with the quantiser and the decoder amortised over its ",
              fixed(quality->images, 0), " images; compared with ", quality->data_path, "."));
    for (const auto& note : baselines.notes) section.body += report::html_paragraph(note);
  });
  return section;
}

}  // namespace aepipe::stages
