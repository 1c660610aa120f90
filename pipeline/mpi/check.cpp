#include "mpi/check.hpp"

#include <string>

#include "util/error.hpp"

namespace aepipe::mpi {

void check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) length = 0;
  throw Error(cat("MPI call ", call, " failed: ", std::string(text, static_cast<size_t>(length))));
}

}  // namespace aepipe::mpi
