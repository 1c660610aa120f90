#pragma once
// The table bench/rate_distortion.sh prints, read back for the report's codec chart:
//   codec                                        bits/pixel   PSNR dB    SSIM
//   PCA 32-d 8-bit                                   0.9714    20.311  0.7150
//   JPEG q10                                         0.8470    24.014
//   PNG (lossless)                                   3.4000  lossless
// followed by a blank line and a summary, which is ignored. A row is a name (any words), the
// bits per pixel, the PSNR in dB (or "lossless") and optionally the SSIM.
#include <optional>
#include <string>
#include <vector>

namespace aepipe::report {

struct RatePoint {
  std::string name;    // "PCA 32-d 8-bit"
  std::string family;  // "PCA", "JPEG", "aepipe" or "other": the first word of the name
  double bits_per_pixel = 0;
  double psnr = 0;  // dB; lossless rows are left out
  std::optional<double> ssim;
};

// Parses `text`; throws Error naming `path` and the line when the header is missing or a row
// of the table is malformed.
std::vector<RatePoint> parse_rate_distortion(const std::string& text, const std::string& path);

// Reads and parses the file; throws Error naming it.
std::vector<RatePoint> read_rate_distortion(const std::string& path);

}  // namespace aepipe::report
