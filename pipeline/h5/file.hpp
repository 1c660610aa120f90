#pragma once
// An HDF5 file opened serially (one process) or in parallel through MPI-IO by every rank of
// a communicator. In parallel, opening, creating objects, extending datasets and closing are
// collective: every rank makes the same calls with the same arguments.
#include <hdf5.h>

#include <string>

#include "h5/handle.hpp"
#include "mpi/communicator.hpp"

namespace aepipe::h5 {

class File {
 public:
  enum class Mode { kReadOnly, kReadWrite };

  // Creates (truncating) `path`. comm == nullptr: serial; else collective over comm.
  static File create(const std::string& path, const mpi::Communicator* comm);
  // Opens an existing file; checks first that it exists, is readable and is HDF5, so the
  // message says which of those failed.
  static File open(const std::string& path, Mode mode, const mpi::Communicator* comm);

  File(File&&) noexcept = default;
  File& operator=(File&&) noexcept = default;

  hid_t id() const { return handle_.get(); }
  const std::string& path() const { return path_; }
  bool parallel() const { return parallel_; }
  bool writable() const { return writable_; }
  // Flushes and closes, throwing if that fails (for example on a full disk). Collective in
  // parallel. Every dataset and attribute of the file must be closed before.
  void close();

 private:
  File(Handle handle, std::string path, bool parallel, bool writable)
      : handle_(std::move(handle)),
        path_(std::move(path)),
        parallel_(parallel),
        writable_(writable) {}

  Handle handle_;
  std::string path_;
  bool parallel_ = false;
  bool writable_ = false;
};

}  // namespace aepipe::h5
