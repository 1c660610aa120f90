#include "h5/library_guard.hpp"

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <thread>

#include "util/atomic_output.hpp"
#include "util/error.hpp"

namespace aepipe::h5 {
namespace {

constexpr int kMaxDepth = 16;
constexpr std::size_t kWhatBytes = 1024;
constexpr int kCrashSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};

// The descriptions of the live guards, innermost last. Written only by the guarded thread
// before it publishes the new depth (release); read by the crash handler (on that thread)
// and by the watchdog (acquire).
char descriptions[kMaxDepth][kWhatBytes];
std::atomic<int> depth{0};
// The guarded thread's CPU time (ns) when its outermost CPU-limited guard began; -1: none.
std::atomic<std::int64_t> limited_since{-1};
static_assert(std::atomic<std::int64_t>::is_always_lock_free);

// Set once by install_library_guards(), before `installed` is published.
std::atomic<bool> installed{false};
pthread_t guarded_thread;
clockid_t guarded_clock;
int message_rank = 0;
std::int64_t limit_ns = 10'000'000'000;
struct sigaction previous_actions[NSIG];
// The crash handlers run here: a stack overflow inside the library leaves no room on the
// thread's own stack.
alignas(64) char alternate_stack[1 << 18];

std::int64_t nanoseconds(const timespec& time) {
  return std::int64_t{time.tv_sec} * 1'000'000'000 + time.tv_nsec;
}

std::int64_t cpu_time_of(clockid_t clock) {
  timespec now{};
  clock_gettime(clock, &now);
  return nanoseconds(now);
}

// A fixed buffer filled with async-signal-safe code only (no allocation, no stdio).
class Line {
 public:
  Line& operator<<(const char* text) {
    while (*text != '\0' && used_ + 1 < sizeof(buffer_)) buffer_[used_++] = *text++;
    return *this;
  }
  Line& operator<<(long long value) {
    char digits[24];
    int count = 0;
    const bool negative = value < 0;
    unsigned long long magnitude = negative ? 0ULL - static_cast<unsigned long long>(value)
                                            : static_cast<unsigned long long>(value);
    do {
      digits[count++] = static_cast<char>('0' + magnitude % 10);
      magnitude /= 10;
    } while (magnitude != 0);
    if (negative) *this << "-";
    while (count > 0 && used_ + 1 < sizeof(buffer_)) buffer_[used_++] = digits[--count];
    return *this;
  }
  // Seconds from nanoseconds, to the millisecond: "10", "0.25".
  Line& seconds(std::int64_t nanoseconds) {
    const long long milliseconds = nanoseconds / 1'000'000;
    *this << milliseconds / 1000;
    long long fraction = milliseconds % 1000;
    if (fraction == 0) return *this;
    char digits[5] = {'.', static_cast<char>('0' + fraction / 100),
                      static_cast<char>('0' + fraction / 10 % 10),
                      static_cast<char>('0' + fraction % 10), '\0'};
    for (int last = 3; last > 0 && digits[last] == '0'; --last) digits[last] = '\0';
    return *this << digits;
  }
  // Ends the line (replacing a too long tail) and writes it with one write(2), so lines of
  // different ranks do not interleave.
  void write_to_stderr() {
    if (used_ + 1 >= sizeof(buffer_)) used_ = sizeof(buffer_) - 2;
    buffer_[used_++] = '\n';
    std::size_t written = 0;
    while (written < used_) {
      const ssize_t n = ::write(STDERR_FILENO, buffer_ + written, used_ - written);
      if (n <= 0) break;
      written += static_cast<std::size_t>(n);
    }
  }

 private:
  char buffer_[2 * kWhatBytes + 512];
  std::size_t used_ = 0;
};

const char* signal_name(int signal) {
  switch (signal) {
    case SIGSEGV:
      return "segmentation fault";
    case SIGBUS:
      return "bus error";
    case SIGFPE:
      return "arithmetic exception";
    case SIGILL:
      return "illegal instruction";
    default:
      return "signal";
  }
}

// Ends the process: the message, then the temporaries (after, so that the line is out even if
// a damaged heap makes the clean-up fail), then exit code 1 without running destructors or
// MPI_Finalize (the other ranks are ended by the launcher when this one exits).
[[noreturn]] void end_process(Line& line) {
  line.write_to_stderr();
  remove_registered_temporaries();
  ::_exit(kExitFailure);
}

extern "C" void on_crash(int signal, siginfo_t* info, void* context) {
  const int level = depth.load(std::memory_order_relaxed);
  if (level > 0 && pthread_equal(pthread_self(), guarded_thread)) {
    Line line;
    line << "aepipe: error: the HDF5 library crashed (" << signal_name(signal) << ") while "
         << descriptions[level - 1]
         << ": the file is damaged in a way the library does not detect (rank "
         << static_cast<long long>(message_rank) << ")";
    end_process(line);
  }
  // Not inside a guard: whoever handled this signal before (Open MPI prints a backtrace),
  // then the default action - the crash is aepipe's or a library's, not a file's.
  const struct sigaction& before = previous_actions[signal];
  if ((before.sa_flags & SA_SIGINFO) != 0 && before.sa_sigaction != nullptr)
    before.sa_sigaction(signal, info, context);
  else if (before.sa_handler != SIG_DFL && before.sa_handler != SIG_IGN)
    before.sa_handler(signal);
  struct sigaction fallback {};
  fallback.sa_handler = SIG_DFL;
  sigemptyset(&fallback.sa_mask);
  sigaction(signal, &fallback, nullptr);
  // A fault recurs when the instruction re-runs; a signal sent by kill() must be raised again.
  if (info == nullptr || info->si_code <= 0) raise(signal);
}

// Polls five times a second; owns nothing, so it is never joined.
void watch_cpu_time() {
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const std::int64_t since = limited_since.load(std::memory_order_acquire);
    if (since < 0 || cpu_time_of(guarded_clock) - since < limit_ns) continue;
    const int level = depth.load(std::memory_order_acquire);
    if (level <= 0 || limited_since.load(std::memory_order_acquire) != since) continue;
    Line line;
    line << "aepipe: error: the HDF5 library spent ";
    line.seconds(limit_ns)
        << " s of CPU time while " << descriptions[level - 1]
        << " without finishing: the file is damaged in a way the library does not detect"
           " (if it is sound and the file system stalled, AEPIPE_HDF5_CPU_LIMIT=seconds "
           "raises the limit) (rank "
        << static_cast<long long>(message_rank) << ")";
    end_process(line);
  }
}

std::int64_t limit_from_environment() {
  const char* text = std::getenv("AEPIPE_HDF5_CPU_LIMIT");
  if (text == nullptr || *text == '\0') return 10'000'000'000;
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  if (end == text || *end != '\0' || !std::isfinite(seconds) || seconds <= 0 || seconds > 1e6)
    throw Error(cat("AEPIPE_HDF5_CPU_LIMIT=", text,
                    " in the environment: expected a number of seconds > 0"));
  return static_cast<std::int64_t>(seconds * 1e9);
}

}  // namespace

LibraryGuard::LibraryGuard(const std::string& what, bool cpu_limited) {
  if (!installed.load(std::memory_order_acquire) || !pthread_equal(pthread_self(), guarded_thread))
    return;
  const int level = depth.load(std::memory_order_relaxed);
  if (level >= kMaxDepth) return;  // deeper calls keep the outer description
  const std::size_t length = std::min(what.size(), kWhatBytes - 1);
  what.copy(descriptions[level], length);
  descriptions[level][length] = '\0';
  if (cpu_limited && limited_since.load(std::memory_order_relaxed) < 0) {
    starts_limit_ = true;
    limited_since.store(cpu_time_of(guarded_clock), std::memory_order_release);
  }
  depth.store(level + 1, std::memory_order_release);
  active_ = true;
}

LibraryGuard::~LibraryGuard() {
  if (!active_) return;
  if (starts_limit_) limited_since.store(-1, std::memory_order_release);
  depth.fetch_sub(1, std::memory_order_release);
}

void install_library_guards(int rank) {
  if (installed.load(std::memory_order_acquire)) return;
  limit_ns = limit_from_environment();
  message_rank = rank;
  guarded_thread = pthread_self();
  if (pthread_getcpuclockid(guarded_thread, &guarded_clock) != 0)
    guarded_clock = CLOCK_THREAD_CPUTIME_ID;

  stack_t stack{};
  stack.ss_sp = alternate_stack;
  stack.ss_size = sizeof(alternate_stack);
  sigaltstack(&stack, nullptr);
  for (const int signal : kCrashSignals) {
    struct sigaction action {};
    action.sa_sigaction = on_crash;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(signal, &action, &previous_actions[signal]);
  }

  // The watchdog takes no signals (stop requests and crashes belong to the other threads).
  sigset_t all, before;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &before);
  std::thread(watch_cpu_time).detach();
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  installed.store(true, std::memory_order_release);
}

}  // namespace aepipe::h5
