// Writes a synthetic image folder for tests: DIR/<class>/<index>.<format> in the ImageFolder
// layout, with smooth gradients, a bright square and noise (so codecs and tiling see
// image-like content), and optionally the exact pixels as raw files for comparisons.
//
//   aepipe_make_images DIR [--classes K] [--per-class M] [--size HxW | --mixed MIN-MAX]
//                      [--channels 1|3] [--format png|jpg|bmp|tga|pgm] [--seed S]
//                      [--truth TRUTHDIR] [--flat]
//
// --truth writes TRUTHDIR/<same relative path>.raw: int32 height, width, channels, then the
// pixels [H, W, C] uint8 (what a lossless decoder must return). --flat puts every image in
// DIR itself (no class folders).
#include <stb_image_write.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace {

struct Settings {
  std::string folder;
  int classes = 3;
  int per_class = 4;
  int height = 28, width = 28;
  int min_side = 0, max_side = 0;  // --mixed
  int channels = 1;
  std::string format = "png";
  unsigned seed = 1;
  std::string truth;
  bool flat = false;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "aepipe_make_images: %s\n", why.c_str());
  std::exit(2);
}

Settings parse(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value after " + arg);
      return argv[++i];
    };
    if (arg == "--classes")
      s.classes = std::stoi(next());
    else if (arg == "--per-class")
      s.per_class = std::stoi(next());
    else if (arg == "--size") {
      const std::string v = next();
      s.height = std::stoi(v.substr(0, v.find('x')));
      s.width = std::stoi(v.substr(v.find('x') + 1));
    } else if (arg == "--mixed") {
      const std::string v = next();
      s.min_side = std::stoi(v.substr(0, v.find('-')));
      s.max_side = std::stoi(v.substr(v.find('-') + 1));
    } else if (arg == "--channels")
      s.channels = std::stoi(next());
    else if (arg == "--format")
      s.format = next();
    else if (arg == "--seed")
      s.seed = static_cast<unsigned>(std::stoul(next()));
    else if (arg == "--truth")
      s.truth = next();
    else if (arg == "--flat")
      s.flat = true;
    else if (!arg.empty() && arg[0] == '-')
      usage("unknown option " + arg);
    else
      s.folder = arg;
  }
  if (s.folder.empty()) usage("no folder given");
  return s;
}

std::vector<std::uint8_t> draw(int height, int width, int channels, int label, std::mt19937& rng) {
  std::vector<std::uint8_t> pixels(static_cast<size_t>(height) * width * channels);
  std::uniform_int_distribution<int> noise(-12, 12);
  std::uniform_int_distribution<int> corner_row(0, std::max(0, height - 1));
  std::uniform_int_distribution<int> corner_col(0, std::max(0, width - 1));
  const int top = corner_row(rng), left = corner_col(rng);
  const int side = std::max(2, std::min(height, width) / 3);
  for (int r = 0; r < height; ++r)
    for (int c = 0; c < width; ++c)
      for (int k = 0; k < channels; ++k) {
        int value = (r * 255 / std::max(1, height - 1) * (k + 1) +
                     c * 128 / std::max(1, width - 1) + label * 40) %
                    256;
        if (r >= top && r < top + side && c >= left && c < left + side) value = 240 - 30 * k;
        value += noise(rng);
        pixels[(static_cast<size_t>(r) * width + c) * channels + k] =
            static_cast<std::uint8_t>(std::clamp(value, 0, 255));
      }
  return pixels;
}

bool write_pgm(const std::string& path, int height, int width, int channels,
               const std::vector<std::uint8_t>& pixels) {
  std::FILE* out = std::fopen(path.c_str(), "wb");
  if (!out) return false;
  std::fprintf(out, "%s\n%d %d\n255\n", channels == 1 ? "P5" : "P6", width, height);
  const bool ok = std::fwrite(pixels.data(), 1, pixels.size(), out) == pixels.size();
  return std::fclose(out) == 0 && ok;
}

bool write_image(const Settings& s, const std::string& path, int height, int width,
                 const std::vector<std::uint8_t>& pixels) {
  const int c = s.channels;
  if (s.format == "png")
    return stbi_write_png(path.c_str(), width, height, c, pixels.data(), width * c);
  if (s.format == "jpg") return stbi_write_jpg(path.c_str(), width, height, c, pixels.data(), 90);
  if (s.format == "bmp") return stbi_write_bmp(path.c_str(), width, height, c, pixels.data());
  if (s.format == "tga") return stbi_write_tga(path.c_str(), width, height, c, pixels.data());
  if (s.format == "pgm") return write_pgm(path, height, width, c, pixels);
  usage("unknown format " + s.format);
}

}  // namespace

int main(int argc, char** argv) {
  const Settings s = parse(argc, argv);
  namespace fs = std::filesystem;
  std::mt19937 rng(s.seed);
  std::uniform_int_distribution<int> side(s.min_side, std::max(s.min_side, s.max_side));
  const std::string extension = s.format == "pgm" ? (s.channels == 1 ? "pgm" : "ppm") : s.format;
  for (int k = 0; k < s.classes; ++k) {
    const std::string relative_folder = s.flat ? "" : "class_" + std::to_string(k);
    fs::create_directories(fs::path(s.folder) / relative_folder);
    if (!s.truth.empty()) fs::create_directories(fs::path(s.truth) / relative_folder);
    for (int i = 0; i < s.per_class; ++i) {
      const int height = s.max_side > 0 ? side(rng) : s.height;
      const int width = s.max_side > 0 ? side(rng) : s.width;
      const auto pixels = draw(height, width, s.channels, k, rng);
      char leaf[64];
      std::snprintf(leaf, sizeof leaf, "%s%03d.%s",
                    s.flat ? ("c" + std::to_string(k) + "_").c_str() : "", i, extension.c_str());
      const fs::path relative = fs::path(relative_folder) / leaf;
      if (!write_image(s, (fs::path(s.folder) / relative).string(), height, width, pixels)) {
        std::fprintf(stderr, "aepipe_make_images: cannot write %s\n", relative.c_str());
        return 1;
      }
      if (!s.truth.empty()) {
        const std::string raw = (fs::path(s.truth) / relative).string() + ".raw";
        std::FILE* out = std::fopen(raw.c_str(), "wb");
        const std::int32_t header[3] = {height, width, s.channels};
        const bool ok = out && std::fwrite(header, sizeof header, 1, out) == 1 &&
                        std::fwrite(pixels.data(), 1, pixels.size(), out) == pixels.size();
        if (!out || std::fclose(out) != 0 || !ok) {
          std::fprintf(stderr, "aepipe_make_images: cannot write %s\n", raw.c_str());
          return 1;
        }
      }
    }
  }
  return 0;
}
