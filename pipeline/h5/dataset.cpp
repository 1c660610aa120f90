#include "h5/dataset.hpp"

#include <algorithm>
#include <numeric>
#include <optional>

#include "h5/check.hpp"
#include "h5/library_guard.hpp"
#include "util/error.hpp"

namespace aepipe::h5 {

hsize_t rows_per_chunk(std::uint64_t row_bytes, std::uint64_t target_bytes) {
  return std::max<hsize_t>(1, target_bytes / std::max<std::uint64_t>(1, row_bytes));
}

Dataset Dataset::create(const File& file, const std::string& name, hid_t file_type, hsize_t rows,
                        const std::vector<hsize_t>& row_shape, const DatasetLayout& layout) {
  const std::string where = cat(file.path(), ":", name);
  std::vector<hsize_t> dims{rows};
  dims.insert(dims.end(), row_shape.begin(), row_shape.end());
  std::vector<hsize_t> max_dims = dims;
  if (layout.extendible) max_dims[0] = H5S_UNLIMITED;
  Handle space(
      check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), max_dims.data()),
               cat("dataspace for ", where)));

  const hsize_t row_bytes = std::accumulate(row_shape.begin(), row_shape.end(),
                                            hsize_t{H5Tget_size(file_type)}, std::multiplies<>());
  std::vector<hsize_t> chunk = dims;
  chunk[0] = layout.chunk_rows > 0 ? layout.chunk_rows : rows_per_chunk(row_bytes);
  if (!layout.extendible) chunk[0] = std::max<hsize_t>(1, std::min(chunk[0], rows));
  Handle dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), "dataset creation properties"));
  check_status(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()),
               cat("chunking of ", where));
  if (layout.shuffle && layout.deflate_level > 0)
    check_status(H5Pset_shuffle(dcpl.get()), cat("shuffle filter of ", where));
  if (layout.deflate_level > 0)
    check_status(H5Pset_deflate(dcpl.get(), static_cast<unsigned>(layout.deflate_level)),
                 cat("deflate filter of ", where));
  // Every element is written; skipping the fill saves a pass over the file.
  // (Variable-length types need their fill value: HDF5 refuses FILL_TIME_NEVER for them.)
  if (H5Tdetect_class(file_type, H5T_STRING) <= 0 && H5Tdetect_class(file_type, H5T_VLEN) <= 0)
    check_status(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "fill time");

  // No modification times in object headers: the same data gives the same file bytes.
  check_status(H5Pset_obj_track_times(dcpl.get(), false), "object times");
  Handle lcpl(check_id(H5Pcreate(H5P_LINK_CREATE), "link creation properties"));
  check_status(H5Pset_create_intermediate_group(lcpl.get(), 1), "intermediate groups");
  Handle dataset(check_id(H5Dcreate2(file.id(), name.c_str(), file_type, space.get(), lcpl.get(),
                                     dcpl.get(), H5P_DEFAULT),
                          cat("cannot create dataset ", where)));
  return Dataset(std::move(dataset), file.path(), name, file.parallel());
}

Dataset Dataset::open(const File& file, const std::string& name) {
  if (!exists(file, name)) throw Error(cat("dataset ", name, " not found in ", file.path()));
  const LibraryGuard guard(cat("opening dataset ", file.path(), ":", name));
  Handle dataset(check_id(H5Dopen2(file.id(), name.c_str(), H5P_DEFAULT),
                          cat("cannot open dataset ", file.path(), ":", name)));
  return Dataset(std::move(dataset), file.path(), name, file.parallel());
}

std::string Dataset::where() const {
  return cat(file_path_, ":", name_);
}

std::vector<hsize_t> Dataset::dims() const {
  Handle space(check_id(H5Dget_space(id()), cat("dataspace of ", where())));
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) check_status(rank, cat("shape of ", where()));
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  check_status(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr),
               cat("shape of ", where()));
  if (dims.empty()) throw Error(cat(where(), " is a scalar, expected rows"));
  return dims;
}

hsize_t Dataset::row_elements() const {
  const auto shape = dims();
  return std::accumulate(shape.begin() + 1, shape.end(), hsize_t{1}, std::multiplies<>());
}

Handle Dataset::file_type() const {
  return Handle(check_id(H5Dget_type(id()), cat("type of ", where())));
}

void Dataset::set_rows(hsize_t rows) {
  auto shape = dims();
  shape[0] = rows;
  check_status(H5Dset_extent(id(), shape.data()),
               cat("cannot resize ", where(), " to ", rows, " rows"));
}

void Dataset::transfer_rows(hsize_t first, hsize_t rows, hid_t memory_type, void* data,
                            bool write) {
  auto shape = dims();
  if (first + rows > shape[0])
    throw Error(cat(write ? "write" : "read", " of rows [", first, ", ", first + rows, ") past ",
                    shape[0], " rows of ", where()));
  Handle file_space(check_id(H5Dget_space(id()), cat("dataspace of ", where())));
  std::vector<hsize_t> start(shape.size(), 0);
  start[0] = first;
  std::vector<hsize_t> count = shape;
  count[0] = rows;
  Handle memory_space;
  if (rows == 0) {
    // Ranks with nothing to transfer still take part in the collective call.
    check_status(H5Sselect_none(file_space.get()), "empty selection");
    memory_space = Handle(check_id(H5Scopy(file_space.get()), "empty memory space"));
    check_status(H5Sselect_none(memory_space.get()), "empty selection");
  } else {
    check_status(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr,
                                     count.data(), nullptr),
                 cat("selection of rows in ", where()));
    memory_space = Handle(check_id(
        H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), "memory space"));
  }
  // HDF5 rejects a null buffer even for an empty selection.
  static std::uint64_t placeholder = 0;
  if (data == nullptr) data = &placeholder;
  Handle transfer(check_id(H5Pcreate(H5P_DATASET_XFER), "transfer properties"));
  // Strings come from the global heap, whose damage made libhdf5 crash or spin (see
  // library_guard.hpp): CPU-limited. Numbers take time in proportion to the rows: only
  // crashes are watched.
  std::optional<LibraryGuard> guard;
  if (!write)
    guard.emplace(cat("reading rows [", first, ", ", first + rows, ") of ", where()),
                  H5Tdetect_class(memory_type, H5T_STRING) > 0);
  if (parallel_ && (write || collective_reads_))
    check_status(H5Pset_dxpl_mpio(transfer.get(), H5FD_MPIO_COLLECTIVE), "collective transfer");
  const std::string what = cat(write ? "cannot write" : "cannot read", " rows [", first, ", ",
                               first + rows, ") of ", where());
  if (write)
    check_status(
        H5Dwrite(id(), memory_type, memory_space.get(), file_space.get(), transfer.get(), data),
        what);
  else
    check_status(
        H5Dread(id(), memory_type, memory_space.get(), file_space.get(), transfer.get(), data),
        what);
}

bool exists(const File& file, const std::string& name) {
  // Walk the path one link at a time: H5Lexists fails on a missing intermediate group.
  if (name.empty() || name == "/") return !name.empty();
  const LibraryGuard guard(cat("looking up ", name, " in ", file.path()));
  size_t at = name.front() == '/' ? 1 : 0;
  std::string prefix = name.front() == '/' ? "/" : "";
  while (at <= name.size()) {
    const size_t slash = name.find('/', at);
    const size_t end = slash == std::string::npos ? name.size() : slash;
    prefix += name.substr(at, end - at);
    const htri_t found = H5Lexists(file.id(), prefix.c_str(), H5P_DEFAULT);
    if (found <= 0) {
      library_reason();
      return false;
    }
    if (slash == std::string::npos) break;
    prefix += "/";
    at = slash + 1;
  }
  return H5Oexists_by_name(file.id(), name.c_str(), H5P_DEFAULT) > 0;
}

}  // namespace aepipe::h5
