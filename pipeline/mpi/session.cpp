#include "mpi/session.hpp"

#include <mpi.h>

#include "mpi/check.hpp"

namespace aepipe::mpi {

Session::Session(int& argc, char**& argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return;
  int provided = 0;
  // FUNNELED: only the main thread calls MPI; compute threads (BLAS, oneDNN) never do.
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

Session::~Session() {
  if (!finalized()) MPI_Finalize();
}

bool Session::finalized() {
  int done = 0;
  MPI_Finalized(&done);
  return done != 0;
}

}  // namespace aepipe::mpi
