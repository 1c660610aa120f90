#pragma once
// Some damaged HDF5 files make the HDF5 library crash or loop forever instead of returning an
// error. Fuzzing found both in Debian 12's libhdf5 1.10.8, each while reading a variable-length
// string through the file's global heap (fuzz/libhdf5-known/): a SIGSEGV in H5HG_read and an
// endless loop in H5C_protect. aepipe cannot check those bytes itself, so it watches the
// library instead: a LibraryGuard marks a call that reads a file's structure, and while one
// is alive on the main thread
//  - a crash (SIGSEGV, SIGBUS, SIGFPE, SIGILL) ends the process with exit code 1 and the line
//      aepipe: error: the HDF5 library crashed (segmentation fault) while <what>: ... (rank R)
//  - more CPU time than the limit spent inside the outermost guard ends it the same way
//    ("... spent 10 s of CPU time while <what> without finishing ...").
// Registered temporary outputs are removed first. Crashes outside any guard keep their usual
// treatment (Open MPI's backtrace, then the default action), so aepipe's own bugs are not
// blamed on files.
//
// The limit counts the guarded thread's CPU time, not wall time: a slow or stalled file
// system does not trip it on the rank that reads. A rank that waits in MPI for rank 0 (HDF5's
// collective metadata reads) spins and so accrues CPU time; a file system stalled for longer
// than the limit in one metadata read can therefore end a parallel job, and the message says
// so. The limit is 10 s, or AEPIPE_HDF5_CPU_LIMIT seconds (> 0) from the environment; a
// sound file's metadata takes milliseconds.
//
// HDF5 is called from one thread (the main one): guards made on other threads do nothing.
#include <string>

namespace aepipe::h5 {

class LibraryGuard {
 public:
  // `what` completes "while ...", e.g. "reading attribute aepipe_format of /data/train.h5".
  // `cpu_limited` false: crashes are still reported, but no time limit applies (reads of
  // numbers, whose time grows with the rows asked for).
  explicit LibraryGuard(const std::string& what, bool cpu_limited = true);
  ~LibraryGuard();
  LibraryGuard(const LibraryGuard&) = delete;
  LibraryGuard& operator=(const LibraryGuard&) = delete;

 private:
  bool active_ = false;
  bool starts_limit_ = false;  // the outermost CPU-limited guard: the limit counts from here
};

// Installs the crash handlers (on an alternate stack, so a stack overflow is reported too)
// and the watchdog thread, and notes the rank for messages. Call once from the main thread,
// after MPI_Init (whose handlers are kept for crashes outside guards). Throws Error if
// AEPIPE_HDF5_CPU_LIMIT is set but not a positive number of seconds. Before this call, guards
// do nothing.
void install_library_guards(int rank);

}  // namespace aepipe::h5
