#include "stages/report_codec.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "mpi/agreement.hpp"
#include "report/rate_distortion.hpp"
#include "stages/evaluate_codes.hpp"
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
                              const StageContext& context) {
  const auto& comm = context.comm;
  report::Section section{"codec", "Codec: rate and distortion", ""};
  std::optional<CodesQuality> quality;
  if (!options.codes.empty()) {
    quality = measure_codes({options.codes, "", "", false}, quiet_context(context));
  }
  mpi::collectively(comm, [&] {
    if (!comm.is_root()) return;
    // (series name, points), in legend order.
    std::vector<std::pair<std::string, std::vector<report::RatePoint>>> groups;
    if (quality) {
      groups.push_back(
          {"this model (" + options.codes + ")",
           {{options.codes, "aepipe", quality->bits_per_pixel, quality->psnr, quality->ssim}}});
    } else if (auto points = metrics_points(metrics); !points.empty()) {
      groups.push_back({"this job (metrics)", std::move(points)});
    }
    if (!options.rate_distortion.empty()) {
      std::map<std::string, std::vector<report::RatePoint>> families;
      for (auto& point : report::read_rate_distortion(options.rate_distortion))
        families[point.family].push_back(point);
      for (const char* family : {"aepipe", "PCA", "JPEG", "other"})
        if (families.count(family))
          groups.push_back({cat(family, " (table)"), std::move(families[family])});
    }
    if (groups.empty()) {
      section.body = report::html_note(
          "No codec figures: give --codes (a codes file of test images), --metrics-input with "
          "an `aepipe evaluate --codes` event, or --rate-distortion (bench/rate_distortion.sh's "
          "table).");
      return;
    }
    report::Chart chart{
        "codec", "Bits per pixel against PSNR", "bits per pixel", "PSNR (dB)", {}, 640, 380};
    std::vector<std::vector<std::string>> rows;
    for (const auto& [name, points] : groups) {
      report::Series series{name, {}, {}, false};
      for (const auto& point : points) {
        series.x.push_back(point.bits_per_pixel);
        series.y.push_back(point.psnr);
        rows.push_back({name, point.name, fixed(point.bits_per_pixel, 4), fixed(point.psnr, 3),
                        point.ssim ? fixed(*point.ssim, 4) : ""});
      }
      chart.series.push_back(std::move(series));
    }
    section.body += folder.add_chart(chart);
    section.body += report::html_table({"source", "codec", "bits/pixel", "PSNR dB", "SSIM"}, rows);
    if (quality)
      section.body += report::html_paragraph(
          cat(options.codes, ": ", fixed(quality->bytes_per_image, 1), " bytes per image of ",
              quality->bits > 0 ? cat(quality->bits, "-bit") : std::string("float32"), " codes, ",
              fixed(quality->bits_per_pixel_with_model, 4),
              " bits per pixel with the quantiser and the decoder amortised over its ",
              fixed(quality->images, 0), " images; compared with ", quality->data_path, "."));
  });
  return section;
}

}  // namespace aepipe::stages
