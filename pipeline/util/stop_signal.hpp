#pragma once
// SIGTERM and SIGUSR1 ask a running stage to stop at the next safe point (after a training
// step: checkpoint, then exit with kExitStopped). Slurm's pre-timeout signal
// (--signal=B:USR1@N, forwarded by the batch script) uses this.
//
// How a signal becomes a request (stop_signal.cpp says why in detail): no signal handler may
// run on a thread that computes. oneDNN's JIT sgemm (Debian 12's 2.6.3; fixed upstream in
// 2026, oneDNN issue #4845) points the stack pointer at a heap buffer while it runs, so the
// kernel's signal frame lands in the heap and corrupts it ("corrupted size vs. prev_size",
// seen in H5Fclose of the stop checkpoint or in free() inside dnnl_sgemm). So the stop
// signals are blocked in the main thread and in every thread that runs a GEMM, and one
// watcher thread takes them with sigwait(); a flag-setting handler remains only for threads
// that never compute (MPI's progress threads, created before the install).
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

// From now until the process ends, SIGTERM and SIGUSR1 set the stop flag instead of ending
// the process. Call it from the main thread, outside parallel regions. Idempotent: a job
// runner may install before its stages and `train` again; a request made before the second
// call is kept. Signals that arrive before the first call keep their default action.
void install_stop_handlers();

// Blocks SIGTERM and SIGUSR1 in the calling thread once install_stop_handlers() has run (a
// thread-local check, no system call, after the first time). Every thread that runs oneDNN
// calls it first: OpenMP pool threads may predate the install and so not inherit the mask.
void keep_stop_signals_off_this_thread() noexcept;

// True once a stop signal arrived (or request_stop() was called). The request stays until
// clear_stop(): a stop that arrives after a stage's last check still stops a job runner
// before its next stage.
bool stop_requested();
// For tests.
void request_stop();
void clear_stop();

}  // namespace aepipe
