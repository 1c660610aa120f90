#include "util/stop_signal.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace aepipe {
namespace {

// Why no handler may run on a computing thread: for k > 252 on AVX2 (k > 84 on AVX-512)
// oneDNN 2.x/3.x's JIT sgemm kernels (jit_avx_gemm_f32, jit_avx512_common_gemm_f32) do
// `mov rsp, <heap workspace>` and compute with the stack pointer inside a malloc'd block. A
// signal delivered to that thread meanwhile makes the kernel push its signal frame (1-3 KiB
// with the vector state) below rsp: over the malloc headers in front of the workspace.
// glibc notices at a later free() - inside dnnl_sgemm, or in H5Fclose of the stop checkpoint
// written right after the signal. The handler's own code is irrelevant: an empty one does it.
// Fixed upstream by oneDNN PR #4855 (v3.11.x backport #4859, 2026); Debian 12 ships 2.6.3.
// tests/unit/test_stop_signal.cpp reproduces it in well under a second.
//
// So the signals are blocked in every computing thread (no frame is ever pushed there, and
// their system calls - HDF5 and MPI-IO writes included - never see EINTR) and a watcher
// thread receives them synchronously with sigwait(). A process-directed signal goes to a
// thread that does not block it: the watcher (sigwait unblocks while it waits), or a
// thread created before the install that never computes (Open MPI's and PMIx's progress
// threads, idle OpenMP threads); there the fallback handler below sets the flag.

// Lock-free, so it is safe from a signal handler and between threads alike.
std::atomic<bool> stop_flag{false};
static_assert(std::atomic<bool>::is_always_lock_free);

// True once the signals are routed to the watcher. Each thread notes its own blocking.
std::atomic<bool> installed{false};
thread_local bool blocked_in_this_thread = false;

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  return set;
}

extern "C" void on_stop_signal(int) {
  stop_flag.store(true, std::memory_order_relaxed);
}

// Runs until the process ends; it owns nothing, so it needs no join at exit.
void watch_stop_signals(sigset_t set) {
  while (true) {
    int signal = 0;
    if (sigwait(&set, &signal) == 0) stop_flag.store(true, std::memory_order_relaxed);
  }
}

}  // namespace

StopRequested::StopRequested(const std::string& what) : Error(what, kExitStopped) {}

void install_stop_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    // The handler first: from here no stop signal ends the process, whichever thread it hits.
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGUSR1, &action, nullptr);
    // Then blocked here: every thread this one starts from now on (the watcher, new OpenMP
    // threads) inherits the mask.
    const sigset_t set = stop_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    blocked_in_this_thread = true;
    std::thread(watch_stop_signals, set).detach();
    installed.store(true, std::memory_order_release);
  });
  keep_stop_signals_off_this_thread();
}

void keep_stop_signals_off_this_thread() noexcept {
  if (blocked_in_this_thread || !installed.load(std::memory_order_acquire)) return;
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  blocked_in_this_thread = true;
}

bool stop_requested() {
  return stop_flag.load(std::memory_order_relaxed);
}
void request_stop() {
  stop_flag.store(true, std::memory_order_relaxed);
}
void clear_stop() {
  stop_flag.store(false, std::memory_order_relaxed);
}

}  // namespace aepipe
