#pragma once
// Owns MPI_Init_thread / MPI_Finalize for the whole process.
// Non-copyable and non-movable: MPI may be initialised and finalised once per process.
namespace aepipe::mpi {

class Session {
 public:
  Session(int& argc, char**& argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // True once MPI_Finalize has run (destructors must not call MPI after it).
  static bool finalized();
};

}  // namespace aepipe::mpi
