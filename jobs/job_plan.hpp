#pragma once
// Which stages of a job run (DESIGN "aepipe run"): a stage whose outputs exist, are complete
// and are newer than the outputs of earlier stages it reads is skipped, so a requeued job
// picks up where it stopped; --from STAGE reruns from there. Pure logic over a file probe, so
// it is tested without files.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace aepipe::jobs {

struct StageFiles {
  std::string name;                  // as listed: "ingest", "ingest:test"
  std::vector<std::string> outputs;  // written under these final names (none: always runs)
  std::vector<std::string> inputs;   // read (only those an earlier stage writes matter)
};

struct FileState {
  bool exists = false;
  bool complete = false;  // an aepipe file whose format tag reads back
  std::string problem;    // why not complete
  std::filesystem::file_time_type modified{};
};
using FileProbe = std::function<FileState(const std::string& path)>;

enum class StageAction {
  kSkip,    // outputs complete and up to date
  kRun,     // no output yet (or none to check)
  kReplace  // outputs exist but are out of date or the stage is forced: run with --force
};

struct PlannedStage {
  StageAction action = StageAction::kRun;
  std::string reason;  // for the log: "out/a.h5 is complete", "--from train", ...
  // Start afresh rather than continue what a stopped run left (train's checkpoint): forced,
  // or an input is rewritten by this run.
  bool fresh = false;
};

// `from`: index of the first stage forced to run (every later one runs too). Throws
// Error naming the stage and file if an output exists but is not a complete aepipe file
// (replacing what may be someone's data is left to them).
std::vector<PlannedStage> plan_job(const std::vector<StageFiles>& stages,
                                   std::optional<std::size_t> from, const FileProbe& probe);

// The probe for real files: existence, modification time, and whether HDF5 opens the file
// and its aepipe_format tag reads back.
FileState probe_file(const std::string& path);

}  // namespace aepipe::jobs
