#pragma once
// Every MPI call goes through check(): a failed call becomes an Error naming the call.
// MPI_ERRORS_RETURN is set on our communicators, so failures come back as codes.
#include <mpi.h>

namespace aepipe::mpi {

void check(int rc, const char* call);

}  // namespace aepipe::mpi
