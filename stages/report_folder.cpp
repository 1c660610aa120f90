#include "stages/report_folder.hpp"

#include <filesystem>

#include "data/image_codec.hpp"
#include "report/html.hpp"

namespace aepipe::stages {

std::string ReportFolder::add_png(const std::string& file, const data::Image& image,
                                  const std::string& alt) {
  data::write_png((std::filesystem::path(path_) / file).string(), image);
  ++images_;
  return report::html_image(file, image.width, image.height, alt);
}

std::string ReportFolder::add_chart(const report::Chart& chart) {
  ++charts_;
  return report::render_svg(chart);
}

}  // namespace aepipe::stages
