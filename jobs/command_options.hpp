#pragma once
// Parsing one command's options (its own and the ones every command shares) from its command
// line and config, and running it: shared by `aepipe <command>` and the stages of `aepipe run`.
#include <memory>
#include <string>
#include <vector>

#include "jobs/command.hpp"
#include "jobs/config_file.hpp"
#include "mpi/communicator.hpp"
#include "util/json.hpp"

namespace aepipe::jobs {

struct ParsedCommand {
  stages::CommonOptions common;
  bool help_shown = false;  // --help was given and printed: nothing to run
};

// Parses `arguments` (what follows the command's name) into the command's bound members,
// then the config: `source.file` if set, else the file --config names (its section
// `command.name()`). Throws UsageError (identically on every rank) for a bad option or value.
ParsedCommand parse_command(Command& command, const std::vector<std::string>& arguments,
                            ConfigSource source, const mpi::Communicator& comm);

// Every command's name, for checking config sections.
std::set<std::string> command_names();

// Runs a parsed command: its compute threads, its metrics log (rank 0 also keeps every event
// in `events` when given), then the command.
void run_parsed_command(Command& command, const stages::CommonOptions& common,
                        const mpi::Communicator& comm,
                        std::shared_ptr<std::vector<JsonObject>> events = nullptr);

}  // namespace aepipe::jobs
