// `aepipe run --config job.ini`: the stages `[job] stages` lists, in order, in this one MPI
// job. Stages already done are skipped (jobs/job_plan.hpp), so rerunning a stopped or
// requeued job continues where it stopped; training continues from its checkpoint.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "jobs/command.hpp"
#include "jobs/command_options.hpp"
#include "jobs/job_plan.hpp"
#include "mpi/agreement.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"
#include "util/stop_signal.hpp"

namespace aepipe::jobs {
namespace {

using Clock = std::chrono::steady_clock;

struct Stage {
  std::string name;  // as listed: "train", "ingest:test"
  std::unique_ptr<Command> command;
  stages::CommonOptions common;
  PlannedStage planned;
  double seconds = 0;
  std::vector<JsonObject> events;  // what the stage reported (rank 0)
};

// "ingest, ingest:test train" -> {"ingest", "ingest:test", "train"}; `stages` may repeat.
std::vector<std::string> split_stage_list(const std::vector<std::string>& values) {
  std::vector<std::string> names;
  for (const auto& value : values) {
    std::string name;
    for (const char c : value + ",") {
      if (c == ',' || c == ' ' || c == '\t') {
        if (!name.empty()) names.push_back(name);
        name.clear();
      } else {
        name += c;
      }
    }
  }
  return names;
}

// The [job] section (and --set job.KEY=...): only `stages` so far.
std::vector<std::string> read_stage_list(const ConfigFile& file,
                                         const std::vector<ConfigEntry>& overrides) {
  std::optional<std::vector<std::string>> listed;
  for (const auto* entries : {&overrides, &file.entries()}) {
    for (const auto& entry : *entries) {
      if (entry.section != "job") continue;
      const std::string origin = entries == &overrides ? "--set" : cat("config file ", file.path());
      if (entry.key != "stages")
        throw UsageError(cat(origin, ": unknown key '", entry.key, "' in [job] (it has 'stages')"));
      if (!listed) listed = split_stage_list(entry.values);
    }
  }
  if (!listed || listed->empty())
    throw UsageError(cat("config file ", file.path(),
                         ": no stages to run (give [job] stages = ingest, train, ...)"));
  return *listed;
}

std::unique_ptr<Command> stage_command(const std::string& name, const ConfigFile& file) {
  auto commands = stage_commands();
  std::set<std::string> names;
  for (const auto& command : commands) names.insert(command->name());
  if (is_command_section(name, names))
    for (auto& command : commands)
      if (command->name() == command_of_section(name)) return std::move(command);
  throw UsageError(cat("config file ", file.path(), ": [job] stages lists '", name,
                       "', which is not a command (stages are commands, or COMMAND:LABEL)"));
}

// A few figures of what the stage reported, for the summary: "rows 60000, psnr 21.3".
std::string summarise_events(const std::vector<JsonObject>& events) {
  // clang-format off
  static const std::vector<std::string> kFigures = {
      "rows", "images", "queries", "validation_sse_per_image", "sse_per_image", "psnr",
      "pca_psnr", "code_size", "bits", "bits_per_pixel", "ssim", "queries_per_s",
      "mean_average_precision", "images_per_s"};
  // clang-format on
  std::string text;
  for (const auto& event : events) {
    if (event.field("event") == "\"epoch\"") continue;  // per-epoch lines: the done line sums up
    for (const auto& [key, value] : event.fields()) {
      const bool wanted = std::find(kFigures.begin(), kFigures.end(), key) != kFigures.end() ||
                          key.rfind("recall_at_", 0) == 0 || key.rfind("precision_at_", 0) == 0;
      if (!wanted || value == "null") continue;
      std::string shown = value;
      if (value.find_first_of(".e") != std::string::npos) {  // a double: 4 digits will do
        const double number = std::stod(value);
        char rounded[32];
        std::snprintf(rounded, sizeof rounded, std::abs(number) >= 1000 ? "%.0f" : "%.4g", number);
        shown = rounded;
      }
      text += (text.empty() ? "" : ", ") + key + " " + shown;
    }
  }
  return text;
}

class RunCommand final : public Command {
 public:
  std::string name() const override { return "run"; }
  std::string summary() const override {
    return "a job: the stages a config file lists, skipping those already done";
  }
  std::string usage() const override {
    return "aepipe run --config job.ini [--from STAGE] [--set SECTION.KEY=VALUE]... [--dry-run]";
  }
  void add_options(po::options_description& options) override {
    options.add_options()("from", po::value(&from_)->value_name("STAGE"),
                          "rerun from this stage of the list on, replacing their outputs")(
        "set", po::value(&set_)->composing()->value_name("SECTION.KEY=VALUE"),
        "override a config value (repeat for several; KEY=VALUE for every stage; "
        "job.stages=... runs other stages)")("dry-run", po::bool_switch(&dry_run_),
                                             "print which stages would run, and why; run none");
  }
  void run(const stages::StageContext& context) override;
  bool stops_on_request() const override { return true; }

 private:
  std::vector<Stage> prepare(const stages::StageContext& context, const ConfigFile& file,
                             const std::vector<ConfigEntry>& overrides) const;
  void plan(std::vector<Stage>& stages, const stages::CommonOptions& common,
            const mpi::Communicator& comm) const;
  void print_summary(const std::vector<Stage>& stages, double seconds, int ranks) const;

  std::string from_;
  std::vector<std::string> set_;
  bool dry_run_ = false;
};

std::vector<Stage> RunCommand::prepare(const stages::StageContext& context, const ConfigFile& file,
                                       const std::vector<ConfigEntry>& overrides) const {
  const std::vector<std::string> names = read_stage_list(file, overrides);
  std::vector<Stage> stages;
  for (const auto& name : names) {
    for (const auto& earlier : stages)
      if (earlier.name == name)
        throw UsageError(cat("config file ", file.path(), ": [job] stages lists '", name,
                             "' twice (name a second one COMMAND:LABEL, with its own section)"));
    stages.push_back(Stage{name, stage_command(name, file), {}, {}, 0, {}});
  }
  for (const auto& entry : overrides) {
    const bool known =
        entry.section.empty() || entry.section == "job" ||
        std::any_of(stages.begin(), stages.end(), [&](const Stage& stage) {
          return stage.name == entry.section || command_of_section(stage.name) == entry.section;
        });
    if (!known)
      throw UsageError(cat("--set ", entry.section, ".", entry.key, ": the job has no stage [",
                           entry.section, "]"));
  }

  // Every stage is parsed before any runs: a typo in the last section costs nothing.
  for (auto& stage : stages) {
    ConfigSource source{&file, overrides, {}};
    const std::string base = stage.command->name();
    source.sections = stage.name == base ? std::vector<std::string>{base}
                                         : std::vector<std::string>{stage.name, base};
    // The job's own command line (--seed, --threads, --quiet, --metrics) overrides the file.
    for (const auto& [key, value] : context.common.given)
      if (key != "config" && key != "force")
        source.overrides.push_back(ConfigEntry{"", key, {value}});
    stage.common = parse_command(*stage.command, {}, source, context.comm).common;
    stage.common.config = file.path();
  }
  return stages;
}

void RunCommand::plan(std::vector<Stage>& stages, const stages::CommonOptions& common,
                      const mpi::Communicator& comm) const {
  std::optional<std::size_t> from;
  if (!from_.empty()) {
    std::string listed;
    for (std::size_t i = 0; i < stages.size(); ++i) {
      if (stages[i].name == from_ && !from) from = i;
      listed += (i ? ", " : "") + stages[i].name;
    }
    if (!from)
      throw UsageError(cat("--from ", from_, ": the job has no such stage (it has ", listed, ")"));
  }
  if (common.force) from = 0;  // --force: every stage again
  // Rank 0 looks at the files; every rank follows its plan.
  std::vector<double> actions(stages.size()), fresh(stages.size());
  std::vector<std::string> reasons(stages.size());
  mpi::collectively(comm, [&] {
    if (!comm.is_root()) return;
    std::vector<StageFiles> files;
    for (const auto& stage : stages)
      files.push_back({stage.name, stage.command->outputs(), stage.command->inputs()});
    const auto planned = plan_job(files, from, probe_file);
    for (std::size_t i = 0; i < stages.size(); ++i) {
      actions[i] = static_cast<double>(planned[i].action);
      fresh[i] = planned[i].fresh ? 1 : 0;
      reasons[i] = planned[i].reason;
    }
  });
  comm.broadcast(std::span<double>(actions), 0);
  comm.broadcast(std::span<double>(fresh), 0);
  comm.broadcast(reasons, 0);
  for (std::size_t i = 0; i < stages.size(); ++i)
    stages[i].planned = {static_cast<StageAction>(static_cast<int>(actions[i])), reasons[i],
                         fresh[i] != 0};
}

const char* describe(StageAction action) {
  switch (action) {
    case StageAction::kSkip:
      return "skip";
    case StageAction::kRun:
      return "run";
    case StageAction::kReplace:
      return "rerun";
  }
  return "?";
}

void RunCommand::print_summary(const std::vector<Stage>& stages, double seconds, int ranks) const {
  std::printf("run: job %s on %d rank%s done in %s\n", stages.front().common.config.c_str(), ranks,
              ranks == 1 ? "" : "s", format_seconds(seconds).c_str());
  for (const auto& stage : stages) {
    const bool skipped = stage.planned.action == StageAction::kSkip;
    const std::string figures = skipped ? stage.planned.reason : summarise_events(stage.events);
    std::string line(256 + figures.size(), '\0');
    line.resize(static_cast<size_t>(
        std::snprintf(line.data(), line.size(), "  %-20s %-8s %9s  %s", stage.name.c_str(),
                      skipped ? "skipped" : "ran",
                      skipped ? "" : format_seconds(stage.seconds).c_str(), figures.c_str())));
    std::printf("%s\n",
                line.substr(0, line.find_last_not_of(' ') + 1).c_str());  // no trailing blanks
  }
  std::fflush(stdout);
}

void RunCommand::run(const stages::StageContext& context) {
  const auto& comm = context.comm;
  if (context.common.config.empty())
    throw UsageError("aepipe run needs --config job.ini (its [job] stages lists the stages)");
  std::vector<ConfigEntry> overrides;
  for (const auto& text : set_) {
    ConfigEntry entry = parse_override(text);
    auto same = std::find_if(overrides.begin(), overrides.end(), [&](const ConfigEntry& e) {
      return e.section == entry.section && e.key == entry.key;
    });
    if (same == overrides.end())
      overrides.push_back(entry);
    else  // repeated: several values of a multi-value option
      same->values.push_back(entry.values.front());
  }
  const ConfigFile file = ConfigFile::read(context.common.config, command_names());
  std::vector<Stage> stages = prepare(context, file, overrides);
  plan(stages, context.common, comm);

  const bool talk = comm.is_root() && !context.common.quiet;
  if (dry_run_) {
    if (comm.is_root())
      for (const auto& stage : stages)
        std::printf("%-20s %-6s %s\n", stage.name.c_str(), describe(stage.planned.action),
                    stage.planned.reason.c_str());
    return;
  }

  // A job makes the folders its outputs go to (a single command expects them to exist).
  mpi::collectively(comm, [&] {
    if (!comm.is_root()) return;
    for (const auto& stage : stages) {
      if (stage.planned.action == StageAction::kSkip) continue;
      for (const auto& output : stage.command->outputs()) {
        const auto folder = std::filesystem::path(output).parent_path();
        std::error_code error;
        if (!folder.empty() && !std::filesystem::create_directories(folder, error) && error)
          throw Error(cat("stage ", stage.name, ": cannot create the folder ", folder.string(),
                          " for ", output, ": ", error.message()));
      }
    }
  });

  // A stop request (Slurm's pre-timeout signal) never kills the job: training checkpoints at
  // its next step, other stages finish and the job stops before the next. main() installed
  // the handlers before MPI started; this call only matters where run() is called directly.
  install_stop_handlers();
  const auto job_start = Clock::now();
  for (std::size_t i = 0; i < stages.size(); ++i) {
    Stage& stage = stages[i];
    const std::string position = cat("[", i + 1, "/", stages.size(), "]");
    if (stage.planned.action == StageAction::kSkip) {
      if (talk)
        std::fprintf(stderr, "run: %s %s skipped: %s\n", position.c_str(), stage.name.c_str(),
                     stage.planned.reason.c_str());
    } else {
      if (talk)
        std::fprintf(stderr, "run: %s %s (%s)\n", position.c_str(), stage.name.c_str(),
                     stage.planned.reason.c_str());
      stage.common.force = stage.planned.action == StageAction::kReplace;
      // Continue what a stopped job left, unless forced or fed new inputs.
      if (!stage.planned.fresh) stage.command->continue_interrupted_work();
      auto events = std::make_shared<std::vector<JsonObject>>();
      const auto start = Clock::now();
      try {
        run_parsed_command(*stage.command, stage.common, comm, events);
      } catch (const StopRequested&) {
        if (comm.is_root())
          std::fprintf(stderr, "run: stage %s stopped; running the job again continues it\n",
                       stage.name.c_str());
        throw;
      }
      stage.seconds = seconds_since(start);
      stage.events = *events;
    }
    context.metrics.write(JsonObject()
                              .add("stage", "run")
                              .add("event", "stage")
                              .add("name", stage.name)
                              .add("action", describe(stage.planned.action))
                              .add("reason", stage.planned.reason)
                              .add("seconds", stage.seconds));
    const bool stop = comm.allreduce_max(stop_requested() ? 1 : 0) != 0;
    if (stop && i + 1 < stages.size())
      throw StopRequested(cat("stopped on request after stage ", stage.name,
                              "; running the job again continues with stage ", stages[i + 1].name));
  }
  const double seconds = seconds_since(job_start);
  context.metrics.write(JsonObject()
                            .add("stage", "run")
                            .add("event", "done")
                            .add("stages", static_cast<std::int64_t>(stages.size()))
                            .add("ranks", comm.size())
                            .add("seconds", seconds));
  if (comm.is_root()) print_summary(stages, seconds, comm.size());  // a result: even with --quiet
}

}  // namespace

std::unique_ptr<Command> make_run_command() {
  return std::make_unique<RunCommand>();
}

}  // namespace aepipe::jobs
