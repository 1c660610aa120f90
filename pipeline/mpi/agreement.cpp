#include "mpi/agreement.hpp"

#include <cstdint>
#include <new>

#include "util/atomic_output.hpp"
#include "util/report.hpp"

namespace aepipe::mpi {
namespace {

struct Failure {
  std::string message;
  int rank;
  int exit_code;
};

Failure describe(std::exception_ptr failure, int my_rank) {
  try {
    std::rethrow_exception(failure);
  } catch (const RankError& error) {
    return {error.what(), error.rank(), error.exit_code()};
  } catch (const Error& error) {
    return {error.what(), my_rank, error.exit_code()};
  } catch (const std::bad_alloc&) {
    return {"out of memory", my_rank, kExitFailure};
  } catch (const std::exception& error) {
    return {error.what(), my_rank, kExitFailure};
  } catch (...) {
    return {"unknown exception", my_rank, kExitFailure};
  }
}

}  // namespace

void agree(const Communicator& comm, std::exception_ptr local_failure) {
  const int candidate = local_failure ? comm.rank() : comm.size();
  const int first_failed = comm.allreduce_min(candidate);
  if (first_failed == comm.size()) return;

  Failure failure{"", first_failed, kExitFailure};
  if (comm.rank() == first_failed) failure = describe(local_failure, comm.rank());
  // Rank, exit code and message all come from the first failing rank.
  std::int32_t header[2] = {failure.rank, failure.exit_code};
  comm.broadcast(std::span<std::int32_t>(header, 2), first_failed);
  comm.broadcast(failure.message, first_failed);
  throw RankError(failure.message, header[0], header[1]);
}

void abort_job(const Communicator& comm, const std::string& message, int exit_code) {
  print_error(message, comm.rank());
  remove_registered_temporaries();
  comm.abort(exit_code);
}

}  // namespace aepipe::mpi
