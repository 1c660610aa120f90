// GoogleTest main for the index unit tests: MPI for the single-process Communicator some
// tests build with, and HDF5's own error printing off (the tests read broken files on purpose).
#include <gtest/gtest.h>
#include <mpi.h>

#include "h5/check.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  aepipe::h5::silence_library_errors();
  const int result = RUN_ALL_TESTS();
  MPI_Finalize();
  return result;
}
