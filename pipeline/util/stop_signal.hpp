#pragma once
// SIGTERM and SIGUSR1 ask a running stage to stop at the next safe point (after a training
// step: checkpoint, then exit with kExitStopped). Slurm's pre-timeout signal
// (--signal=B:USR1@N, forwarded by the batch script) uses this.
#include <string>

#include "util/error.hpp"

namespace aepipe {

// Exit code of a stage that stopped on request after saving its state (EX_TEMPFAIL: "try
// again later" - a requeued job resumes).
inline constexpr int kExitStopped = 75;

// Thrown on every rank alike (the request is agreed on by an allreduce) once the state is
// saved; the command line prints it and exits with kExitStopped.
class StopRequested : public Error {
 public:
  explicit StopRequested(const std::string& what);
};

void install_stop_handlers();
bool stop_requested();
// For tests.
void request_stop();
void clear_stop();

}  // namespace aepipe
