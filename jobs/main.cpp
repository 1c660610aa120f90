// The `aepipe` executable: one MPI process per rank, under mpirun, srun or alone.
#include <cstdio>
#include <exception>

#include "h5/check.hpp"
#include "h5/library_guard.hpp"
#include "jobs/command_line.hpp"
#include "mpi/communicator.hpp"
#include "mpi/session.hpp"

int main(int argc, char** argv) {
  try {
    // Before MPI_Init, which can take seconds on a cluster: a stop signal during it must not
    // kill a training job.
    aepipe::jobs::prepare_process_for_command(argc, argv);
    aepipe::mpi::Session session(argc, argv);
    aepipe::h5::silence_library_errors();
    int exit_code = 0;
    {
      const aepipe::mpi::Communicator world(MPI_COMM_WORLD);
      // After MPI_Init: its crash handlers stay in place for crashes outside HDF5's reads.
      aepipe::h5::install_library_guards(world.rank());
      exit_code = aepipe::jobs::run_command_line(argc, argv, world);
    }
    return exit_code;
  } catch (const std::exception& error) {
    // Only MPI start-up and the guards' settings can fail here; there is no communicator to
    // agree on.
    std::fprintf(stderr, "aepipe: error: %s\n", error.what());
    return 1;
  }
}
