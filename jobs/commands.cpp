#include <charconv>

#include "jobs/command.hpp"
#include "stages/decode.hpp"
#include "stages/encode.hpp"
#include "stages/evaluate.hpp"
#include "stages/evaluate_codes.hpp"
#include "stages/evaluate_neighbours.hpp"
#include "stages/index.hpp"
#include "stages/ingest.hpp"
#include "stages/inspect.hpp"
#include "stages/query.hpp"
#include "stages/report.hpp"
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
  std::vector<std::string> outputs() const override { return {options_.output}; }
  std::vector<std::string> inputs() const override { return options_.inputs; }

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
        "precision", po::value(&o.precision)->value_name("fp32|bf16|auto"),
        "number format of the dense products: bf16 rounds their operands to bfloat16 and sums "
        "in float (weights, optimiser and loss stay float); auto is bf16 where the CPU has "
        "bf16 arithmetic (AVX512_BF16, AMX), else fp32 (default fp32)")(
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
  std::vector<std::string> outputs() const override { return {options_.output}; }
  std::vector<std::string> inputs() const override { return {options_.input}; }
  void continue_interrupted_work() override { options_.resume = true; }
  bool stops_on_request() const override { return true; }

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
        "zlib level of the code datasets (default 6)")(
        "sample-rows", po::value(&o.sample_rows)->value_name("N"),
        "rows whose codes fit the quantiser (default 65536, evenly spaced)");
  }
  void run(const stages::StageContext& context) override { stages::run_encode(options_, context); }
  std::vector<std::string> outputs() const override { return {options_.output}; }
  std::vector<std::string> inputs() const override { return {options_.input, options_.model}; }

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
  // PNGs alone are not one file that appears whole: decode then always runs. With a data
  // file, which is renamed into place after the last PNG, the data file tells.
  std::vector<std::string> outputs() const override {
    if (options_.output.empty()) return {};
    return {options_.output};
  }
  std::vector<std::string> inputs() const override { return {options_.input, options_.model}; }

 private:
  stages::DecodeOptions options_;
};

class IndexCommand final : public Command {
 public:
  std::string name() const override { return "index"; }
  std::string summary() const override {
    return "a retrieval index (flat, IVF or binary hash) over a codes file";
  }
  std::string usage() const override {
    return "aepipe index --input codes.h5 --output index.h5 --type flat|ivf:256|hash:64";
  }
  void add_options(po::options_description& options) override {
    auto& o = options_;
    options.add_options()("input,i", po::value(&o.input)->value_name("FILE"),
                          "the codes file to index (float, quantised or sparse codes)")(
        "output,o", po::value(&o.output)->value_name("FILE"), "the index file to write")(
        "type", po::value(&o.type)->value_name("SPEC"),
        "flat[:METRIC] (exact), ivf:NLIST[:METRIC] (inverted lists over k-means), or "
        "hash:BITS[:itq|:sign] (binary codes, Hamming distance); METRIC is l2 (default), ip "
        "or cosine (default flat)")("kmeans-iterations",
                                    po::value(&o.kmeans_iterations)->value_name("N"),
                                    "ivf: Lloyd iterations of the coarse quantiser (default 20)")(
        "sample-per-list", po::value(&o.sample_per_list)->value_name("N"),
        "ivf: k-means trains on at most N points per list (default 256)")(
        "itq-iterations", po::value(&o.itq_iterations)->value_name("N"),
        "hash:BITS:itq: rotation iterations (default 50)")(
        "hash-sample-rows", po::value(&o.hash_sample_rows)->value_name("N"),
        "hash: rows the projection is learned on (default 16384)");
  }
  void run(const stages::StageContext& context) override { stages::run_index(options_, context); }
  std::vector<std::string> outputs() const override { return {options_.output}; }
  std::vector<std::string> inputs() const override { return {options_.input}; }

 private:
  stages::IndexOptions options_;
};

class QueryCommand final : public Command {
 public:
  std::string name() const override { return "query"; }
  std::string summary() const override {
    return "the nearest neighbours of query codes or images in an index";
  }
  std::string usage() const override {
    return "aepipe query --index index.h5 --input queries.h5 [--model model.h5] --output "
           "neighbours.h5\n                    [--k 10] [--nprobe 8]";
  }
  void add_options(po::options_description& options) override {
    auto& o = options_;
    options.add_options()("index", po::value(&o.index)->value_name("FILE"), "the index to search")(
        "input,i", po::value(&o.input)->value_name("FILE"),
        "the queries: a codes file, or a data file of images (then --model encodes them)")(
        "model,m", po::value(&o.model)->value_name("FILE"), "the model that encodes image queries")(
        "output,o", po::value(&o.output)->value_name("FILE"), "the neighbours file to write")(
        "k", po::value(&o.k)->value_name("K"), "neighbours per query (default 10)")(
        "nprobe", po::value(&o.nprobe)->value_name("N"),
        "ivf: inverted lists scanned per query (default 8)");
  }
  void run(const stages::StageContext& context) override { stages::run_query(options_, context); }
  std::vector<std::string> outputs() const override { return {options_.output}; }
  std::vector<std::string> inputs() const override {
    return {options_.index, options_.input, options_.model};
  }

 private:
  stages::QueryOptions options_;
};

class EvaluateCommand final : public Command {
 public:
  std::string name() const override { return "evaluate"; }
  std::string summary() const override {
    return "reconstruction quality of a model beside PCA, a codes file's rate and quality, or "
           "retrieval quality of neighbours";
  }
  std::string usage() const override {
    return "aepipe evaluate --model model.h5 --input data.h5 [--baseline-data train.h5] "
           "[--no-baseline]\n       aepipe evaluate --codes codes.h5 [--model model.h5] "
           "[--input originals.h5] [--per-image]\n       aepipe evaluate --neighbours n.h5 "
           "[--index index.h5] [--exact exact.h5] [--k K]";
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
        "with --codes: print every image's PSNR and SSIM")(
        "neighbours", po::value(&neighbours_.neighbours)->value_name("FILE"),
        "evaluate a neighbours file (aepipe query): recall@k against exact search, "
        "precision@k and mean average precision by label (--input and --model override the "
        "queries and model it names)")("index", po::value(&neighbours_.index)->value_name("FILE"),
                                       "with --neighbours: the index (default: the one it names)")(
        "exact", po::value(&neighbours_.exact)->value_name("FILE"),
        "with --neighbours: exact neighbours of the same queries (a flat index's query) to "
        "measure recall against, instead of searching the index's vectors (needed for hash "
        "indexes)")("k", po::value(&neighbours_.k)->value_name("K"),
                    "with --neighbours: measure at K (default: the file's k)");
  }
  void run(const stages::StageContext& context) override {
    if (!neighbours_.neighbours.empty()) {
      if (!codes_.codes.empty()) throw UsageError("give --codes or --neighbours, not both");
      neighbours_.queries = options_.input;
      neighbours_.model = options_.model;
      stages::run_evaluate_neighbours(neighbours_, context);
      return;
    }
    if (!codes_.codes.empty()) {
      codes_.model = options_.model;
      codes_.input = options_.input;
      stages::run_evaluate_codes(codes_, context);
      return;
    }
    options_.baseline = !no_baseline_;
    stages::run_evaluate(options_, context);
  }
  std::vector<std::string> inputs() const override {
    return {options_.model,         options_.input,    options_.baseline_data, codes_.codes,
            neighbours_.neighbours, neighbours_.index, neighbours_.exact};
  }

 private:
  stages::EvaluateOptions options_;
  stages::EvaluateCodesOptions codes_;
  stages::EvaluateNeighboursOptions neighbours_;
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

class ReportCommand final : public Command {
 public:
  std::string name() const override { return "report"; }
  std::string summary() const override {
    return "an HTML page of a job: filters, reconstructions, training curves, codec, retrieval "
           "and stage times";
  }
  std::string usage() const override {
    return "aepipe report --output DIR [--model model.h5] [--input test.h5] [--codes codes.h5]\n"
           "                     [--neighbours n.h5] [--job job.ini] [--metrics-input m.jsonl]\n"
           "                     [--rate-distortion TABLE] [--samples N]";
  }
  void add_options(po::options_description& options) override {
    auto& o = options_;
    options.add_options()("output,o", po::value(&o.output)->value_name("DIR"),
                          "the folder to write (index.html and its PNGs)")(
        "model,m", po::value(&o.model)->value_name("FILE"),
        "the model: first-layer filters, training curves, reconstructions")(
        "input,i", po::value(&o.input)->value_name("FILE"),
        "test images (a data file) to show with their reconstructions")(
        "baseline-data", po::value(&o.baseline_data)->value_name("FILE"),
        "fit the PCA row here (default: the model's training data)")(
        "samples", po::value(&o.samples)->value_name("N"),
        "test images shown, evenly spaced (default 16, at most 64)")(
        "codes", po::value(&o.codes)->value_name("FILE"),
        "a codes file of test images: bits per pixel and PSNR, as evaluate --codes")(
        "neighbours", po::value(&o.neighbours)->value_name("FILE"),
        "a neighbours file (aepipe query): queries with their neighbours, recall and precision")(
        "job", po::value(&o.job)->value_name("FILE"),
        "the job's config file, shown verbatim (default: the --config file)")(
        "metrics-input", po::value(&o.metrics_input)->value_name("FILE"),
        "a metrics file of the job: stage times and figures (default: the --metrics file, if "
        "it holds events)")(
        "rate-distortion", po::value(&o.rate_distortion)->value_name("FILE"),
        "bench/rate_distortion.sh's table: PCA and JPEG points for the codec chart");
  }
  void run(const stages::StageContext& context) override { stages::run_report(options_, context); }
  // The output is a folder, which the job planner cannot check: report always runs.
  std::vector<std::string> outputs() const override { return {}; }
  std::vector<std::string> inputs() const override {
    return {options_.model,      options_.input, options_.baseline_data, options_.codes,
            options_.neighbours, options_.job,   options_.metrics_input, options_.rate_distortion};
  }

 private:
  stages::ReportOptions options_;
};

}  // namespace

std::vector<std::unique_ptr<Command>> stage_commands() {
  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(std::make_unique<IngestCommand>());
  commands.push_back(std::make_unique<TrainCommand>());
  commands.push_back(std::make_unique<EncodeCommand>());
  commands.push_back(std::make_unique<DecodeCommand>());
  commands.push_back(std::make_unique<IndexCommand>());
  commands.push_back(std::make_unique<QueryCommand>());
  commands.push_back(std::make_unique<EvaluateCommand>());
  commands.push_back(std::make_unique<InspectCommand>());
  commands.push_back(std::make_unique<ReportCommand>());
  return commands;
}

std::vector<std::unique_ptr<Command>> all_commands() {
  auto commands = stage_commands();
  commands.push_back(make_run_command());
  return commands;
}

}  // namespace aepipe::jobs
