// The HDF5 library guards (h5/library_guard.hpp): a crash or a spin inside a guard ends the
// process with exit code 1 and a line naming what was being read; outside a guard, or on a
// thread that is not the guarded one, nothing changes. Its own executable: installing is
// process-wide, and every case runs in a death-test child (re-executed, "threadsafe" style,
// because the watchdog is a thread).
//
// The files behind it: fuzz/libhdf5-known/ holds two damaged HDF5 files on which libhdf5
// 1.10.8 crashes and spins; tests/e2e/test_reliability.py feeds them to every stage.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <thread>

#include "h5/library_guard.hpp"
#include "util/atomic_output.hpp"
#include "util/error.hpp"

namespace aepipe::h5 {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

// A null pointer the compiler cannot see through, so the store below is a real fault (not a
// trap instruction the optimiser put there instead).
volatile std::uintptr_t null_address = 0;

void write_through_null() {
  *reinterpret_cast<volatile int*>(null_address) = 1;
}

double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// Burns `seconds` of this thread's CPU time.
void spin_for(double seconds) {
  const double until = thread_cpu_seconds() + seconds;
  volatile std::uint64_t sink = 0;
  while (thread_cpu_seconds() < until)
    for (int i = 0; i < 1000; ++i) sink = sink + static_cast<std::uint64_t>(i);
}

// Recurses until the stack is gone (each frame keeps 4 KiB alive).
int overflow_stack(int depth) {
  volatile char frame[4096];
  frame[depth % sizeof(frame)] = static_cast<char>(depth);
  return depth < 0 ? 0 : overflow_stack(depth + 1) + frame[0];
}

class LibraryGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    if (kAddressSanitizer) GTEST_SKIP() << "AddressSanitizer handles the crash signals itself";
  }
};

TEST_F(LibraryGuardTest, CrashInsideAGuardNamesWhatWasReadAndExitsWithOne) {
  EXPECT_EXIT(
      {
        install_library_guards(3);
        const LibraryGuard outer("opening /data/train.h5");
        const LibraryGuard inner("reading attribute aepipe_format of /data/train.h5");
        write_through_null();
      },
      ::testing::ExitedWithCode(1),
      "^aepipe: error: the HDF5 library crashed \\(segmentation fault\\) while reading "
      "attribute aepipe_format of /data/train.h5: the file is damaged in a way the library "
      "does not detect \\(rank 3\\)\n$");
}

TEST_F(LibraryGuardTest, StackOverflowInsideAGuardIsReportedFromTheAlternateStack) {
  EXPECT_EXIT(
      {
        install_library_guards(0);
        const LibraryGuard guard("opening /data/deep.h5");
        overflow_stack(0);
      },
      ::testing::ExitedWithCode(1), "crashed \\(segmentation fault\\) while opening /data/deep.h5");
}

TEST_F(LibraryGuardTest, CrashOutsideAnyGuardKeepsItsUsualDeath) {
  EXPECT_EXIT(
      {
        install_library_guards(0);
        { const LibraryGuard finished("opening /data/train.h5"); }
        write_through_null();
      },
      ::testing::KilledBySignal(SIGSEGV), "");
}

TEST_F(LibraryGuardTest, CrashWithoutInstallKeepsItsUsualDeath) {
  EXPECT_EXIT(
      {
        const LibraryGuard guard("opening /data/train.h5");
        write_through_null();
      },
      ::testing::KilledBySignal(SIGSEGV), "");
}

TEST_F(LibraryGuardTest, SpinningPastTheCpuLimitEndsTheProcessNamingTheLimit) {
  EXPECT_EXIT(
      {
        setenv("AEPIPE_HDF5_CPU_LIMIT", "0.25", 1);
        install_library_guards(1);
        const LibraryGuard guard("reading attribute aepipe_format of /data/loop.h5");
        spin_for(30);
        std::_Exit(0);  // not reached while the watchdog works
      },
      ::testing::ExitedWithCode(1),
      "^aepipe: error: the HDF5 library spent 0.25 s of CPU time while reading attribute "
      "aepipe_format of /data/loop.h5 without finishing: .*AEPIPE_HDF5_CPU_LIMIT.* \\(rank "
      "1\\)\n$");
}

TEST_F(LibraryGuardTest, TheLimitCountsFromTheOutermostLimitedGuard) {
  // 0.2 s in the outer guard, then 0.2 s in a nested one: 0.4 s in all passes 0.3.
  EXPECT_EXIT(
      {
        setenv("AEPIPE_HDF5_CPU_LIMIT", "0.3", 1);
        install_library_guards(0);
        const LibraryGuard outer("opening /data/a.h5");
        spin_for(0.2);
        const LibraryGuard inner("reading rows [0, 10) of /data/a.h5:/names");
        spin_for(30);
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(1), "spent 0.3 s of CPU time while reading rows \\[0, 10\\)");
}

TEST_F(LibraryGuardTest, NoLimitForUnlimitedGuardsWaitingOrOtherThreads) {
  EXPECT_EXIT(
      {
        setenv("AEPIPE_HDF5_CPU_LIMIT", "0.2", 1);
        install_library_guards(0);
        {  // numbers: no limit
          const LibraryGuard guard("reading rows [0, 100000) of /data/a.h5:/images", false);
          spin_for(0.6);
        }
        {  // waiting (a stalled file system) takes no CPU time
          const LibraryGuard guard("opening /data/slow.h5");
          std::this_thread::sleep_for(std::chrono::milliseconds(800));
        }
        std::thread other([] {  // a guard off the main thread does nothing
          const LibraryGuard guard("opening /data/elsewhere.h5");
          spin_for(0.6);
        });
        other.join();
        // Many short guards do not add up.
        for (int i = 0; i < 40; ++i) {
          const LibraryGuard guard("looking up /images in /data/a.h5");
          spin_for(0.02);
        }
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(LibraryGuardTest, RegisteredTemporariesAreRemovedOnACrash) {
  // The same name in the death-test child, which runs this body again from the start.
  const std::filesystem::path temporary =
      std::filesystem::temp_directory_path() / ".library-guard-test.aepipe-tmp-1";
  std::ofstream(temporary) << "partial output";
  EXPECT_EXIT(
      {
        install_library_guards(0);
        register_temporary(temporary.string());
        const LibraryGuard guard("opening /data/train.h5");
        write_through_null();
      },
      ::testing::ExitedWithCode(1), "crashed");
  EXPECT_FALSE(std::filesystem::exists(temporary));
  std::filesystem::remove(temporary);
}

TEST(LibraryGuardSettings, ABadLimitInTheEnvironmentIsRefusedByName) {
  for (const char* value : {"0", "-1", "ten", "1e9", "nan"}) {
    setenv("AEPIPE_HDF5_CPU_LIMIT", value, 1);
    try {
      install_library_guards(0);
      ADD_FAILURE() << "accepted AEPIPE_HDF5_CPU_LIMIT=" << value;
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find(std::string("AEPIPE_HDF5_CPU_LIMIT=") + value),
                std::string::npos)
          << error.what();
    }
  }
  unsetenv("AEPIPE_HDF5_CPU_LIMIT");
}

}  // namespace
}  // namespace aepipe::h5
