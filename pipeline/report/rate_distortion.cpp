#include "report/rate_distortion.hpp"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "util/error.hpp"

namespace aepipe::report {
namespace {

std::optional<double> number_of(const std::string& word) {
  char* end = nullptr;
  const double value = std::strtod(word.c_str(), &end);
  if (word.empty() || end != word.c_str() + word.size() || !std::isfinite(value))
    return std::nullopt;
  return value;
}

std::vector<std::string> words_of(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

std::string family_of(const std::string& first_word) {
  for (const char* family : {"PCA", "JPEG", "aepipe"})
    if (first_word == family) return family;
  return "other";
}

}  // namespace

std::vector<RatePoint> parse_rate_distortion(const std::string& text, const std::string& path) {
  std::istringstream in(text);
  std::string line;
  int number = 0;
  bool header = false;
  while (!header && std::getline(in, line)) {
    ++number;
    const auto words = words_of(line);
    header = words.size() >= 3 && words[0] == "codec" && words[1] == "bits/pixel";
  }
  if (!header)
    throw Error(cat(path,
                    " is not a rate-distortion table: no 'codec bits/pixel PSNR dB' header "
                    "(bench/rate_distortion.sh prints one)"));
  std::vector<RatePoint> points;
  while (std::getline(in, line)) {
    ++number;
    auto words = words_of(line);
    if (words.empty()) break;  // the table ends; a summary follows
    if (words.back() == "lossless") continue;
    std::vector<double> trailing;  // numbers at the end of the row, last first
    while (words.size() > 1 && trailing.size() < 3) {
      const auto value = number_of(words.back());
      if (!value) break;
      trailing.push_back(*value);
      words.pop_back();
    }
    if (trailing.size() == 3 && trailing[0] > 1.0) {  // no SSIM: the name ends in a number
      words.push_back(words_of(line)[words.size()]);
      trailing.erase(trailing.begin() + 2);
    }
    if (trailing.size() < 2)
      throw Error(
          cat(path, " line ", number, ": expected NAME BITS/PIXEL PSNR [SSIM], got '", line, "'"));
    RatePoint point;
    for (const auto& word : words) point.name += (point.name.empty() ? "" : " ") + word;
    point.family = family_of(words.front());
    if (trailing.size() == 3) point.ssim = trailing[0];
    point.psnr = trailing[trailing.size() == 3 ? 1 : 0];
    point.bits_per_pixel = trailing[trailing.size() == 3 ? 2 : 1];
    points.push_back(point);
  }
  if (points.empty()) throw Error(cat(path, ": the rate-distortion table has no rows"));
  return points;
}

std::vector<RatePoint> read_rate_distortion(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(cat("cannot read rate-distortion table ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_rate_distortion(text.str(), path);
}

}  // namespace aepipe::report
