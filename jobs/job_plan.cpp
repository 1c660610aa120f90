#include "jobs/job_plan.hpp"

#include <map>
#include <set>

#include "h5/file.hpp"
#include "h5/format.hpp"
#include "util/error.hpp"

namespace aepipe::jobs {
namespace {

namespace fs = std::filesystem;

// One spelling per file, so "out/./a.h5" from one stage matches "out/a.h5" of another.
std::string normal_path(const std::string& path) {
  std::error_code error;
  const fs::path absolute = fs::absolute(path, error);
  return (error ? fs::path(path) : absolute).lexically_normal().string();
}

// An input may name a dataset inside a file ("codes.h5:/codes" for ingest): both spellings.
std::vector<std::string> input_files(const std::string& input) {
  std::vector<std::string> files{normal_path(input)};
  const size_t colon = input.rfind(':');
  if (colon != std::string::npos && colon > 0) files.push_back(normal_path(input.substr(0, colon)));
  return files;
}

}  // namespace

std::vector<PlannedStage> plan_job(const std::vector<StageFiles>& stages,
                                   std::optional<std::size_t> from, const FileProbe& probe) {
  std::vector<PlannedStage> plan(stages.size());
  std::map<std::string, std::size_t> writer;  // normalised output -> stage that writes it
  std::set<std::string> rewritten;            // outputs of stages that will run
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const StageFiles& stage = stages[i];
    PlannedStage& planned = plan[i];
    std::vector<std::string> outputs;
    for (const auto& output : stage.outputs)
      if (!output.empty()) outputs.push_back(output);

    std::vector<FileState> states;
    bool all_exist = !outputs.empty(), any_exists = false;
    for (const auto& output : outputs) {
      states.push_back(probe(output));
      all_exist = all_exist && states.back().exists;
      any_exists = any_exists || states.back().exists;
      if (states.back().exists && !states.back().complete)
        throw Error(cat("stage ", stage.name, ": its output ", output,
                        " exists but is not a complete aepipe file (", states.back().problem,
                        "); remove it, or give the stage another output"));
    }

    bool inputs_rewritten = false;
    for (const auto& input : stage.inputs)
      for (const auto& file : input.empty() ? std::vector<std::string>{} : input_files(input))
        inputs_rewritten = inputs_rewritten || rewritten.count(file) > 0;

    if (from && i >= *from) {
      planned = {any_exists ? StageAction::kReplace : StageAction::kRun,
                 cat("--from ", stages[*from].name), true};
    } else if (outputs.empty()) {
      planned = {StageAction::kRun, "writes no file that could tell it is done"};
    } else if (!all_exist) {
      planned = {any_exists ? StageAction::kReplace : StageAction::kRun,
                 inputs_rewritten ? "no output yet; its input is rewritten, so from the start"
                                  : "no output yet",
                 any_exists || inputs_rewritten};
    } else {
      planned = {StageAction::kSkip, cat(outputs.front(), " is complete")};
      // Out of date if an input an earlier stage writes is rewritten now or is newer.
      for (const auto& input : stage.inputs) {
        if (input.empty()) continue;
        for (const auto& file : input_files(input)) {
          const auto producer = writer.find(file);
          if (producer == writer.end()) continue;
          const std::string& by = stages[producer->second].name;
          bool newer = rewritten.count(file) > 0;
          std::string why = cat(input, " is rewritten by stage ", by);
          if (!newer) {
            const FileState input_state = probe(file);
            for (const auto& state : states)
              newer = newer || (input_state.exists && input_state.modified > state.modified);
            why = cat(input, " (from stage ", by, ") is newer");
          }
          if (newer && planned.action == StageAction::kSkip)
            planned = {StageAction::kReplace, why, true};
        }
      }
    }

    for (const auto& output : outputs) {
      writer[normal_path(output)] = i;
      if (planned.action != StageAction::kSkip) rewritten.insert(normal_path(output));
    }
  }
  return plan;
}

FileState probe_file(const std::string& path) {
  FileState state;
  std::error_code error;
  if (!fs::exists(path, error)) return state;
  state.exists = true;
  state.modified = fs::last_write_time(path, error);
  try {
    const h5::File file = h5::File::open(path, h5::File::Mode::kReadOnly, nullptr);
    h5::read_format_tag(file);
    state.complete = true;
  } catch (const std::exception& failure) {
    state.problem = failure.what();
  }
  return state;
}

}  // namespace aepipe::jobs
