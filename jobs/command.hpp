#pragma once
// One `aepipe <command>`: its options (bound to the stage's option struct) and how to run it.
#include <boost/program_options.hpp>
#include <memory>
#include <string>
#include <vector>

#include "stages/context.hpp"

namespace aepipe::jobs {

namespace po = boost::program_options;

class Command {
 public:
  virtual ~Command() = default;
  virtual std::string name() const = 0;
  virtual std::string summary() const = 0;
  // The synopsis shown by --help, e.g. "aepipe inspect FILE [--json]".
  virtual std::string usage() const = 0;
  // Adds the command's own options, bound to members of the command object.
  virtual void add_options(po::options_description& options) = 0;
  virtual po::positional_options_description positional() const { return {}; }
  // Called after parsing (values are in the bound members); throws UsageError for bad values.
  virtual void run(const stages::StageContext& context) = 0;

  // For `aepipe run`, after parsing. The files the command writes under their final names
  // (none: it always runs, like evaluate) ...
  virtual std::vector<std::string> outputs() const { return {}; }
  // ... the files it reads, which an earlier stage may write ...
  virtual std::vector<std::string> inputs() const { return {}; }
  // ... and a request to continue work a stopped job left (train: from its checkpoint).
  virtual void continue_interrupted_work() {}

  // True for commands that stop at a safe point on SIGTERM/SIGUSR1 (train checkpoints, run
  // stops between stages). They take those signals from the start of the process, before MPI
  // starts: Slurm can send its pre-timeout signal in a job's first second. The others keep
  // the default action (an ingest ends on SIGTERM).
  virtual bool stops_on_request() const { return false; }
};

// Every command this build offers, in the order --help lists them.
std::vector<std::unique_ptr<Command>> all_commands();
// The stage commands alone (all but run), which a job may list.
std::vector<std::unique_ptr<Command>> stage_commands();
std::unique_ptr<Command> make_run_command();

}  // namespace aepipe::jobs
