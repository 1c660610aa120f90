#include "h5/file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "h5/check.hpp"
#include "h5/library_guard.hpp"
#include "util/error.hpp"

namespace aepipe::h5 {
namespace {

Handle access_properties(const std::string& path, const mpi::Communicator* comm) {
  Handle fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), cat("file access properties for ", path)));
  if (comm != nullptr) {
    check_status(H5Pset_fapl_mpio(fapl.get(), comm->get(), MPI_INFO_NULL),
                 cat("MPI-IO access for ", path));
    // Metadata reads by rank 0 then broadcast, writes collective: scales to many ranks.
    check_status(H5Pset_all_coll_metadata_ops(fapl.get(), true), "collective metadata reads");
    check_status(H5Pset_coll_metadata_write(fapl.get(), true), "collective metadata writes");
  }
  // Newest format of the 1.8 series: readable by every HDF5 (and h5py) since 1.8.
  check_status(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18),
               "file format bounds");
  return fapl;
}

void require_readable(const std::string& path) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (!std::filesystem::exists(status)) throw Error(cat("no such file: ", path));
  if (std::filesystem::is_directory(status))
    throw Error(cat("expected a file, got a folder: ", path));
  // A FIFO or a device would block HDF5's first read for ever.
  if (!std::filesystem::is_regular_file(status))
    throw Error(cat("not a regular file (a FIFO, socket or device): ", path));
  if (::access(path.c_str(), R_OK) != 0)
    throw Error(cat("cannot read ", path, ": ", std::strerror(errno)));
  LibraryGuard guard(cat("checking the header of ", path));
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  library_reason();  // clears the stack H5Fis_hdf5 may leave
  if (is_hdf5 <= 0) throw Error(cat("not an HDF5 file (or its header is damaged): ", path));
}

}  // namespace

File File::create(const std::string& path, const mpi::Communicator* comm) {
  Handle fapl = access_properties(path, comm);
  Handle file(check_id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()),
                       cat("cannot create HDF5 file ", path)));
  return File(std::move(file), path, comm != nullptr, true);
}

File File::open(const std::string& path, Mode mode, const mpi::Communicator* comm) {
  require_readable(path);
  Handle fapl = access_properties(path, comm);
  const unsigned flags = mode == Mode::kReadWrite ? H5F_ACC_RDWR : H5F_ACC_RDONLY;
  // The V18 bounds above are for writing; reading must accept what newer libraries wrote.
  check_status(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST),
               "file format bounds");
  LibraryGuard guard(cat("opening ", path));
  Handle file(
      check_id(H5Fopen(path.c_str(), flags, fapl.get()), cat("cannot open HDF5 file ", path)));
  return File(std::move(file), path, comm != nullptr, mode == Mode::kReadWrite);
}

void File::close() {
  if (!handle_.valid()) return;
  const hid_t id = handle_.release();
  check_status(H5Fclose(id), cat("cannot finish writing ", path_));
}

}  // namespace aepipe::h5
