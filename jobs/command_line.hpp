#pragma once
// `aepipe <command> [options]`: parses the command line (and --config), runs the command and
// turns every failure into the one-line message and exit code of DESIGN rule 2.
#include "mpi/communicator.hpp"

namespace aepipe::jobs {

// Called first in main, before MPI starts (it needs no communicator): when argv names a
// command that stops on request (train, run), SIGTERM and SIGUSR1 become stop requests from
// here on instead of ending the process (util/stop_signal.hpp).
void prepare_process_for_command(int argc, char** argv);

// Returns the process exit code: 0 ok, 1 failure, 2 usage error.
int run_command_line(int argc, char** argv, const mpi::Communicator& comm);

}  // namespace aepipe::jobs
