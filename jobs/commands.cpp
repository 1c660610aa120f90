#include <charconv>

#include "jobs/command.hpp"
#include "stages/decode.hpp"
#include "stages/encode.hpp"
#include "stages/evaluate.hpp"
#include "stages/evaluate_codes.hpp"
#include "stages/ingest.hpp"
#include "stages/inspect.hpp"
#include "stages/train.hpp"
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
    throw UsageError(
        cat("invalid value '", text, "' for ", option, ": expected HEIGHTxWIDTH like 32x32"));
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
    options.add_options()(
        "input,i", po::value(&options_.inputs)->multitoken()->value_name("SRC..."),
        "IDX image/label files (gzip'd or not), image folders (sub-folders are classes), "
        "or file.h5[:/dataset]")(
        "labels", po::value(&options_.labels)->multitoken()->value_name("FILE..."),
        "IDX label files, one per IDX image file (they may also be given with --input)")(
        "output,o", po::value(&options_.output)->value_name("FILE"), "the data file to write")(
        "grayscale", po::bool_switch(&options_.grayscale), "convert colour images to grey")(
        "resize", po::value(&resize_)->value_name("HxW"), "resize every image to H x W pixels")(
        "tile", po::value(&options_.tile)->value_name("N"),
        "cut images of any size into N x N tiles (edges padded), recording /tiles and /sources")(
        "patches", po::value(&options_.patches)->value_name("N"),
        "take random N x N patches (positions drawn from --seed)")(
        "per-image", po::value(&options_.per_image)->value_name("M"), "patches per image")(
        "skip-bad", po::bool_switch(&options_.skip_bad),
        "skip undecodable image files with a warning instead of failing")(
        "batch", po::value(&options_.batch)->value_name("N"),
        "images each rank decodes per round (default: from --buffer-mb)")(
        "buffer-mb", po::value(&options_.buffer_mb)->value_name("MB"),
        "decoded pixels each rank holds per round (default 256)")(
        "deflate", po::value(&options_.deflate)->value_name("0-9"),
        "zlib level of the output (default 1; 0 stores uncompressed)")(
        "chunk-kb", po::value(&options_.chunk_kb)->value_name("KB"),
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

class TrainCommand final : public Command {
 public:
  std::string name() const override { return "train"; }
  std::string summary() const override {
    return "learn an autoencoder (or PCA) from a data file with data-parallel SGD";
  }
  std::string usage() const override {
    return "aepipe train --input data.h5 --output model.h5 --arch 784-1000-500-250-30 [options]";
  }
  void add_options(po::options_description& options) override {
    auto& o = options_;
    options.add_options()("input,i", po::value(&o.input)->value_name("FILE"),
                          "the data file to learn from")(
        "output,o", po::value(&o.output)->value_name("FILE"), "the model file to write")(
        "arch", po::value(&o.arch)->value_name("SPEC"),
        "layer sizes, input first, code last (784-1000-500-250-30; a size may carry "
        ":activation), or pca:K for closed-form PCA")(
        "activation", po::value(&o.activation)->value_name("F"),
        "hidden layers: sigmoid, tanh, relu (default), linear")(
        "code-activation", po::value(&o.code_activation)->value_name("F"),
        "code layer (default linear)")("output-activation",
                                       po::value(&o.output_activation)->value_name("F"),
                                       "output layer (default sigmoid)")(
        "loss", po::value(&o.loss)->value_name("mse|xent"),
        "reconstruction loss (default xent; needs a sigmoid output)")(
        "epochs", po::value(&o.epochs)->value_name("E"),
        "passes over the training rows (default 20)")(
        "batch", po::value(&o.batch)->value_name("B"),
        "global batch, split over the ranks (default 128)")(
        "micro-batch", po::value(&o.micro_batch)->value_name("M"),
        "rows per gradient piece; pieces are summed exactly, so results do not depend on the "
        "rank count (default 64)")("optimizer", po::value(&o.optimizer)->value_name("adam|sgd"),
                                   "default adam")("lr", po::value(&o.lr)->value_name("X"),
                                                   "peak learning rate (default 0.002)")(
        "momentum", po::value(&o.momentum)->value_name("X"), "sgd momentum (default 0.9)")(
        "warmup", po::value(&o.warmup)->value_name("STEPS"),
        "linear warm-up (default 2% of the steps, at most 1000)")(
        "lr-decay", po::value(&o.lr_decay)->value_name("cosine|linear|none"),
        "after warm-up (default cosine)")("final-lr-fraction",
                                          po::value(&o.final_lr_fraction)->value_name("X"),
                                          "decay ends at lr times this (default 0.01)")(
        "reference-batch", po::value(&o.reference_batch)->value_name("B"),
        "linear scaling rule: lr is multiplied by batch / B (default off)")(
        "weight-decay", po::value(&o.weight_decay)->value_name("LAMBDA"),
        "lambda/2 ||W||^2 (default 0)")("sparsity",
                                        po::value(&o.sparsity)->value_name("none|kl|l1|topk"),
                                        "sparsity of the code (default none)")(
        "rho", po::value(&o.rho)->value_name("X"), "kl: target mean activation (default 0.05)")(
        "beta", po::value(&o.beta)->value_name("X"),
        "kl/l1: weight of the sparsity term (default 3)")("k", po::value(&o.k)->value_name("N"),
                                                          "topk: code units kept per sample")(
        "noise", po::value(&o.noise)->value_name("SPEC"),
        "denoising: gaussian:0.1, mask:0.3 or saltpepper:0.1")(
        "code-noise", po::value(&o.code_noise)->value_name("WIDTH"),
        "add uniform noise of this width to the code while training, so the decoder learns to "
        "take quantised codes: 1/(2^B - 1) with a sigmoid code prepares it for encode --bits "
        "B (default 0)")("tied", po::bool_switch(&o.tied),
                         "decoder weights are the encoder's transposed")(
        "pretrain-epochs", po::value(&o.pretrain_epochs)->value_name("E"),
        "greedy layer-wise pretraining epochs per layer before fine-tuning (default 0)")(
        "normalise", po::value(&o.normalise)->value_name("none|pixel|patch"),
        "input mapping stored in the model (default none: pixels / 255)")(
        "validation", po::value(&o.validation)->value_name("FRACTION"),
        "rows held out for validation (default 0.05)")("buffer-mb",
                                                       po::value(&o.buffer_mb)->value_name("MB"),
                                                       "streaming memory per rank (default 256)")(
        "checkpoint-every", po::value(&o.checkpoint_every)->value_name("STEPS"),
        "also checkpoint every N steps (always at each epoch's end)")(
        "resume", po::bool_switch(&o.resume), "continue from OUTPUT.checkpoint if it exists");
  }
  void run(const stages::StageContext& context) override { stages::run_train(options_, context); }

 private:
  stages::TrainOptions options_;
};

class EncodeCommand final : public Command {
 public:
  std::string name() const override { return "encode"; }
  std::string summary() const override {
    return "a data file to codes with a model's encoder (optionally quantised)";
  }
  std::string usage() const override {
    return "aepipe encode --input data.h5 --model model.h5 --output codes.h5 [--bits 8]";
  }
  void add_options(po::options_description& options) override {
    auto& o = options_;
    options.add_options()("input,i", po::value(&o.input)->value_name("FILE"),
                          "the data file to encode")(
        "model,m", po::value(&o.model)->value_name("FILE"), "the trained model")(
        "output,o", po::value(&o.output)->value_name("FILE"), "the codes file to write")(
        "bits", po::value(&o.bits)->value_name("B"),
        "quantise each code dimension to B bits (1-16) with a range learned from the codes "
        "(default 0: float32)")("dense", po::bool_switch(&o.dense),
                                "store top-k codes densely instead of as indices + values")(
        "deflate", po::value(&o.deflate)->value_name("0-9"),
        "zlib level of the code datasets (default 9)")(
        "sample-rows", po::value(&o.sample_rows)->value_name("N"),
        "rows whose codes fit the quantiser (default 65536, evenly spaced)");
  }
  void run(const stages::StageContext& context) override { stages::run_encode(options_, context); }

 private:
  stages::EncodeOptions options_;
};

class DecodeCommand final : public Command {
 public:
  std::string name() const override { return "decode"; }
  std::string summary() const override {
    return "codes back to images (a data file and/or PNGs) with a model's decoder";
  }
  std::string usage() const override {
    return "aepipe decode --input codes.h5 [--model model.h5] --output images.h5 [--png DIR]";
  }
  void add_options(po::options_description& options) override {
    auto& o = options_;
    options.add_options()("input,i", po::value(&o.input)->value_name("FILE"),
                          "the codes file to decode")(
        "model,m", po::value(&o.model)->value_name("FILE"),
        "the model (default: the one the codes file names)")(
        "output,o", po::value(&o.output)->value_name("FILE"), "the data file to write")(
        "png", po::value(&o.png)->value_name("DIR"),
        "also write PNG files here: one per image, or per source image of a tiled archive at "
        "its original size")("deflate", po::value(&o.deflate)->value_name("0-9"),
                             "zlib level of the output data file (default 1)")(
        "buffer-mb", po::value(&o.buffer_mb)->value_name("MB"),
        "decoded pixels each rank holds per round (default 64)");
  }
  void run(const stages::StageContext& context) override { stages::run_decode(options_, context); }

 private:
  stages::DecodeOptions options_;
};

class EvaluateCommand final : public Command {
 public:
  std::string name() const override { return "evaluate"; }
  std::string summary() const override {
    return "reconstruction quality of a model beside PCA, or a codes file's rate and quality";
  }
  std::string usage() const override {
    return "aepipe evaluate --model model.h5 --input data.h5 [--baseline-data train.h5] "
           "[--no-baseline]\n       aepipe evaluate --codes codes.h5 [--model model.h5] "
           "[--input originals.h5] [--per-image]";
  }
  void add_options(po::options_description& options) override {
    options.add_options()("model,m", po::value(&options_.model)->value_name("FILE"),
                          "the model to evaluate")("input,i",
                                                   po::value(&options_.input)->value_name("FILE"),
                                                   "the data file (e.g. test images)")(
        "baseline-data", po::value(&options_.baseline_data)->value_name("FILE"),
        "fit the PCA baseline here (default: the model's training data)")(
        "no-baseline", po::bool_switch(&no_baseline_), "skip the PCA baseline")(
        "codes", po::value(&codes_.codes)->value_name("FILE"),
        "evaluate a codes file: stored bytes, bits per pixel, PSNR and SSIM of its decoded "
        "images against the originals (--input, default: the data file it was encoded from)")(
        "per-image", po::bool_switch(&codes_.per_image),
        "with --codes: print every image's PSNR and SSIM");
  }
  void run(const stages::StageContext& context) override {
    if (!codes_.codes.empty()) {
      codes_.model = options_.model;
      codes_.input = options_.input;
      stages::run_evaluate_codes(codes_, context);
      return;
    }
    options_.baseline = !no_baseline_;
    stages::run_evaluate(options_, context);
  }

 private:
  stages::EvaluateOptions options_;
  stages::EvaluateCodesOptions codes_;
  bool no_baseline_ = false;
};

class InspectCommand final : public Command {
 public:
  std::string name() const override { return "inspect"; }
  std::string summary() const override { return "summarise any aepipe file (or HDF5 file)"; }
  std::string usage() const override { return "aepipe inspect FILE [--json]"; }
  void add_options(po::options_description& options) override {
    options.add_options()("file", po::value(&options_.file)->value_name("FILE"),
                          "the file to summarise")("json", po::bool_switch(&options_.json),
                                                   "print one JSON object instead of text");
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
  commands.push_back(std::make_unique<TrainCommand>());
  commands.push_back(std::make_unique<EncodeCommand>());
  commands.push_back(std::make_unique<DecodeCommand>());
  commands.push_back(std::make_unique<EvaluateCommand>());
  commands.push_back(std::make_unique<InspectCommand>());
  return commands;
}

}  // namespace aepipe::jobs
