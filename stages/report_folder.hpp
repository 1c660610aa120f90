#pragma once
// The folder a report is being written into, and what it holds so far: PNGs written there and
// charts placed inline. Used on rank 0 only.
#include <string>

#include "data/image.hpp"
#include "report/svg_chart.hpp"

namespace aepipe::stages {

class ReportFolder {
 public:
  explicit ReportFolder(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  // Writes `image` as `file` (a PNG's name, no folder) and returns an <img> tag for it at its
  // natural size. Throws Error naming the file if it cannot be written.
  std::string add_png(const std::string& file, const data::Image& image, const std::string& alt);
  // The chart as inline SVG, counted.
  std::string add_chart(const report::Chart& chart);

  int images() const { return images_; }
  int charts() const { return charts_; }

 private:
  std::string path_;
  int images_ = 0;
  int charts_ = 0;
};

}  // namespace aepipe::stages
