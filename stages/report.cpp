#include "stages/report.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "mpi/agreement.hpp"
#include "report/html.hpp"
#include "stages/model_inputs.hpp"
#include "stages/report_codec.hpp"
#include "stages/report_folder.hpp"
#include "stages/report_model.hpp"
#include "stages/report_retrieval.hpp"
#include "stages/report_run.hpp"
#include "stages/report_samples.hpp"
#include "util/atomic_output.hpp"
#include "util/error.hpp"
#include "util/json.hpp"
#include "util/progress.hpp"

namespace aepipe::stages {
namespace fs = std::filesystem;
namespace {

// The samples are one row of tiles: 64 Fashion-MNIST images are 3.6k pixels wide.
constexpr std::int64_t kMaxSamples = 64;
constexpr const char* kGeneratorMark = "<meta name=\"generator\" content=\"aepipe report\">";

// An earlier report: --force may replace it. Any other folder is left alone.
bool is_report_folder(const std::string& folder) {
  std::ifstream in(fs::path(folder) / "index.html");
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  return in.gcount() > 0 && head.find(kGeneratorMark) != std::string::npos;
}

std::string read_text(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) throw Error(cat("cannot read ", what, " ", path));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(cat("cannot read ", what, " ", path));
  return text.str();
}

// The options with the defaults a job gives: its config file and metrics file.
ReportOptions with_defaults(ReportOptions options, const StageContext& context) {
  while (options.output.size() > 1 && options.output.back() == '/') options.output.pop_back();
  if (options.job.empty()) options.job = context.common.config;
  if (options.metrics_input.empty() && !context.common.metrics.empty()) {
    // The --metrics file exists already (it is created before any stage runs): only one with
    // events of earlier stages is worth reading.
    const bool has_events = mpi::collectively(context.comm, [&] {
      std::error_code error;
      const auto size = fs::file_size(context.common.metrics, error);
      return !error && size > 0;
    });
    if (has_events) options.metrics_input = context.common.metrics;
  }
  return options;
}

void check_options(const ReportOptions& options) {
  if (options.output.empty()) throw UsageError("no output folder given (--output DIR)");
  if (options.samples < 1 || options.samples > kMaxSamples)
    throw UsageError(cat("--samples must be 1 to ", kMaxSamples, ", got ", options.samples));
  if (options.model.empty() && !options.input.empty())
    throw UsageError("--input (test images) needs --model");
  if (options.model.empty() && !options.baseline_data.empty())
    throw UsageError("--baseline-data needs --model");
}

// Removes the temporary folder on rank 0 unless it was committed (an agreed failure unwinds
// every rank through here).
class FolderGuard {
 public:
  FolderGuard(std::string path, bool owner) : path_(std::move(path)), owner_(owner) {}
  ~FolderGuard() {
    std::error_code ignored;
    if (owner_ && !committed_) fs::remove_all(path_, ignored);
  }
  FolderGuard(const FolderGuard&) = delete;
  FolderGuard& operator=(const FolderGuard&) = delete;
  void committed() { committed_ = true; }

 private:
  std::string path_;
  bool owner_;
  bool committed_ = false;
};

report::Section note_section(const std::string& id, const std::string& title,
                             const std::string& note) {
  return {id, title, report::html_note(note)};
}

std::vector<report::Section> model_sections(const ReportOptions& options, ReportFolder& folder,
                                            PcaBaselineCache& baselines,
                                            const StageContext& context) {
  const auto& comm = context.comm;
  if (options.model.empty())
    return {note_section("filters", "First-layer filters", "No model given (--model)."),
            note_section("reconstructions", "Reconstructions", "No model given (--model)."),
            note_section("training", "Training", "No model given (--model).")};
  const nn::LoadedModel model = load_model(options.model, comm);
  std::vector<report::Section> sections(3);
  mpi::collectively(comm, [&] {
    if (!comm.is_root()) return;
    sections[0] = filters_section(model, options.model, folder);
    sections[2] = training_section(model, options.model, folder);
  });
  sections[1] = options.input.empty() ? note_section("reconstructions", "Reconstructions",
                                                     "No test images given (--input data.h5).")
                                      : samples_section(options, model, folder, baselines, context);
  return sections;
}

}  // namespace

void run_report(const ReportOptions& given, const StageContext& context) {
  check_options(given);
  const auto& comm = context.comm;
  const auto start = std::chrono::steady_clock::now();
  const ReportOptions options = with_defaults(given, context);
  check_output_folder(
      options.output,
      {options.model, options.input, options.baseline_data, options.codes, options.neighbours,
       options.job, options.metrics_input, options.rate_distortion},
      context.common.force, is_report_folder, comm);

  RunFacts facts{options.job, "", options.metrics_input, {}, comm.size()};
  mpi::collectively(comm, [&] {
    if (!comm.is_root()) return;
    if (!options.job.empty()) facts.job_text = read_text(options.job, "job file");
    if (!options.metrics_input.empty())
      facts.metrics = report::read_json_lines(options.metrics_input);
  });

  const std::string temporary = temporary_path_for(options.output, comm);
  FolderGuard guard(temporary, comm.is_root());
  mpi::collectively(comm, [&] {
    if (comm.is_root() && !fs::create_directory(temporary))
      throw Error(cat("cannot create the folder ", temporary));
  });
  ReportFolder folder(temporary);

  PcaBaselineCache baselines;  // fitted for the reconstructions, reused by the codec chart
  std::vector<report::Section> sections = model_sections(options, folder, baselines, context);
  sections.push_back(codec_section(options, facts.metrics, folder, baselines, context));
  sections.push_back(
      options.neighbours.empty()
          ? note_section("retrieval", "Retrieval", "No neighbours file given (--neighbours).")
          : retrieval_section(options, folder, context));
  mpi::collectively(comm, [&] {
    if (!comm.is_root()) return;
    sections.push_back(run_section(facts));
    const std::string subtitle =
        report::escape_html(cat("Made by aepipe ", AEPIPE_VERSION_STRING, " on ", comm.size(),
                                comm.size() == 1 ? " rank" : " ranks",
                                options.model.empty() ? "" : cat(" for ", options.model), "."));
    std::ofstream page(fs::path(temporary) / "index.html");
    page << report::render_page("aepipe report", subtitle, sections);
    page.close();
    if (!page) throw Error(cat("cannot write ", temporary, "/index.html"));
    commit_output_folder(temporary, options.output);
  });
  guard.committed();
  unregister_temporary(temporary);

  const double seconds = seconds_since(start);
  const int images = comm.broadcast(folder.images(), 0);
  const int charts = comm.broadcast(folder.charts(), 0);
  if (context.show_progress())
    std::fprintf(stderr, "report: wrote %s/index.html (%d images, %d charts) in %.1f s\n",
                 options.output.c_str(), images, charts, seconds);
  mpi::collectively(comm, [&] {
    context.metrics.write(JsonObject()
                              .add("stage", "report")
                              .add("event", "done")
                              .add("output", options.output)
                              .add("images", images)
                              .add("charts", charts)
                              .add("sections", static_cast<std::int64_t>(sections.size()))
                              .add("ranks", comm.size())
                              .add("seconds", seconds));
  });
}

}  // namespace aepipe::stages
