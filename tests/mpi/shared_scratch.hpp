#pragma once
// A scratch folder that every rank sees under the same path (rank 0 creates and removes it).
#include <unistd.h>

#include <filesystem>
#include <string>

#include "mpi/communicator.hpp"

namespace aepipe::testing {

class SharedScratch {
 public:
  explicit SharedScratch(const mpi::Communicator& comm) : comm_(comm) {
    static int counter = 0;
    std::string path;
    if (comm.is_root()) {
      path = (std::filesystem::temp_directory_path() /
              ("aepipe-mpi-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter)))
                 .string();
      std::filesystem::remove_all(path);
      std::filesystem::create_directories(path);
    }
    ++counter;
    comm.broadcast(path, 0);
    root_ = path;
  }
  ~SharedScratch() {
    comm_.barrier();
    if (comm_.is_root()) {
      std::error_code ignored;
      std::filesystem::remove_all(root_, ignored);
    }
  }
  SharedScratch(const SharedScratch&) = delete;
  SharedScratch& operator=(const SharedScratch&) = delete;
  std::string path(const std::string& leaf) const { return (root_ / leaf).string(); }
  const std::filesystem::path& root() const { return root_; }

 private:
  const mpi::Communicator& comm_;
  std::filesystem::path root_;
};

}  // namespace aepipe::testing
