#include <charconv>

#include "jobs/command.hpp"
#include "stages/ingest.hpp"
#include "stages/inspect.hpp"
#include "util/error.hpp"

namespace aepipe::jobs {
namespace {

// "32x48" -> (32, 48); the error quotes the option and the value.
std::pair<int, int> parse_size(const std::string& text, const std::string& option) {
  const size_t x = text.find_first_of("xX");
  int height = 0, width = 0;
  const auto parse = [](const std::string& part, int& value) {
    const auto result = std::from_chars(part.data(), part.data() + part.size(), value);
    return result.ec == std::errc() && result.ptr == part.data() + part.size() && value > 0;
  };
  if (x == std::string::npos || !parse(text.substr(0, x), height) ||
      !parse(text.substr(x + 1), width))
    throw UsageError(cat("invalid value '", text, "' for ", option,
                         ": expected HEIGHTxWIDTH like 32x32"));
  return {height, width};
}

class IngestCommand final : public Command {
 public:
  std::string name() const override { return "ingest"; }
  std::string summary() const override {
    return "image archives (IDX, image folders, HDF5) to a data file";
  }
  std::string usage() const override {
    return "aepipe ingest --input SRC... --output data.h5 [--grayscale] [--resize HxW] "
           "[--tile N]\n                     [--patches N --per-image M] [--skip-bad]";
  }
  void add_options(po::options_description& options) override {
    options.add_options()
        ("input,i", po::value(&options_.inputs)->multitoken()->value_name("SRC..."),
         "IDX image/label files (gzip'd or not), image folders (sub-folders are classes), "
         "or file.h5[:/dataset]")
        ("labels", po::value(&options_.labels)->multitoken()->value_name("FILE..."),
         "IDX label files, one per IDX image file (they may also be given with --input)")
        ("output,o", po::value(&options_.output)->value_name("FILE"), "the data file to write")
        ("grayscale", po::bool_switch(&options_.grayscale), "convert colour images to grey")
        ("resize", po::value(&resize_)->value_name("HxW"), "resize every image to H x W pixels")
        ("tile", po::value(&options_.tile)->value_name("N"),
         "cut images of any size into N x N tiles (edges padded), recording /tiles and /sources")
        ("patches", po::value(&options_.patches)->value_name("N"),
         "take random N x N patches (positions drawn from --seed)")
        ("per-image", po::value(&options_.per_image)->value_name("M"), "patches per image")
        ("skip-bad", po::bool_switch(&options_.skip_bad),
         "skip undecodable image files with a warning instead of failing")
        ("batch", po::value(&options_.batch)->value_name("N"),
         "images each rank decodes per round (default: from --buffer-mb)")
        ("buffer-mb", po::value(&options_.buffer_mb)->value_name("MB"),
         "decoded pixels each rank holds per round (default 256)")
        ("deflate", po::value(&options_.deflate)->value_name("0-9"),
         "zlib level of the output (default 1; 0 stores uncompressed)")
        ("chunk-kb", po::value(&options_.chunk_kb)->value_name("KB"),
         "target size of an /images chunk (default 1024)");
  }
  void run(const stages::StageContext& context) override {
    if (!resize_.empty())
      std::tie(options_.resize_height, options_.resize_width) = parse_size(resize_, "--resize");
    stages::run_ingest(options_, context);
  }

 private:
  stages::IngestOptions options_;
  std::string resize_;
};

class InspectCommand final : public Command {
 public:
  std::string name() const override { return "inspect"; }
  std::string summary() const override { return "summarise any aepipe file (or HDF5 file)"; }
  std::string usage() const override { return "aepipe inspect FILE [--json]"; }
  void add_options(po::options_description& options) override {
    options.add_options()
        ("file", po::value(&options_.file)->value_name("FILE"), "the file to summarise")
        ("json", po::bool_switch(&options_.json), "print one JSON object instead of text");
  }
  po::positional_options_description positional() const override {
    po::positional_options_description positional;
    positional.add("file", 1);
    return positional;
  }
  void run(const stages::StageContext& context) override { stages::run_inspect(options_, context); }

 private:
  stages::InspectOptions options_;
};

}  // namespace

std::vector<std::unique_ptr<Command>> all_commands() {
  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(std::make_unique<IngestCommand>());
  commands.push_back(std::make_unique<InspectCommand>());
  return commands;
}

}  // namespace aepipe::jobs
