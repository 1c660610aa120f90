#pragma once
// Collective error agreement (DESIGN rule 1): a failure on one rank ends the work on every
// rank with that rank's message, and nobody is left waiting in a collective.
//
// Pattern: every rank runs the same local step inside collectively(); afterwards all ranks
// know whether any rank failed, and if so all throw RankError carrying the message of the
// lowest-numbered failing rank and its exit code.
#include <exception>
#include <optional>
#include <string>
#include <type_traits>

#include "mpi/communicator.hpp"
#include "util/error.hpp"

namespace aepipe::mpi {

// A failure agreed on by all ranks. rank() is the rank where it happened.
class RankError : public Error {
 public:
  RankError(const std::string& what, int rank, int exit_code)
      : Error(what, exit_code), rank_(rank) {}
  int rank() const noexcept { return rank_; }

 private:
  int rank_;
};

// Collective: every rank must call it. `local_failure` is null on ranks that succeeded.
// Returns normally only if no rank failed; otherwise throws RankError on every rank.
void agree(const Communicator& comm, std::exception_ptr local_failure);

// Runs fn() on this rank, then agrees (collective). Returns fn's result if no rank failed.
template <class Fn>
auto collectively(const Communicator& comm, Fn&& fn) -> std::invoke_result_t<Fn> {
  using Result = std::invoke_result_t<Fn>;
  std::exception_ptr failure;
  if constexpr (std::is_void_v<Result>) {
    try {
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
    agree(comm, failure);
  } else {
    std::optional<Result> result;
    try {
      result.emplace(fn());
    } catch (...) {
      failure = std::current_exception();
    }
    agree(comm, failure);
    return std::move(*result);
  }
}

// For collective calls whose failure may be one-sided (a collective HDF5 write that fails on
// one rank): unwinding would leave the other ranks waiting in the next collective, so any
// exception prints its message, removes registered temporary files and ends the job with
// MPI_Abort. Returns fn's result otherwise.
[[noreturn]] void abort_job(const Communicator& comm, const std::string& message, int exit_code);

template <class Fn>
auto or_abort(const Communicator& comm, Fn&& fn) -> std::invoke_result_t<Fn> {
  try {
    return fn();
  } catch (const RankError&) {
    throw;  // already agreed on by every rank: unwinding together is safe
  } catch (const Error& error) {
    abort_job(comm, error.what(), error.exit_code());
  } catch (const std::exception& error) {
    abort_job(comm, error.what(), kExitFailure);
  }
}

}  // namespace aepipe::mpi
