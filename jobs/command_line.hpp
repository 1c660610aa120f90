#pragma once
// `aepipe <command> [options]`: parses the command line (and --config), runs the command and
// turns every failure into the one-line message and exit code of DESIGN rule 2.
#include "mpi/communicator.hpp"

namespace aepipe::jobs {

// Returns the process exit code: 0 ok, 1 failure, 2 usage error.
int run_command_line(int argc, char** argv, const mpi::Communicator& comm);

}  // namespace aepipe::jobs
