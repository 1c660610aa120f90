#pragma once
// A dataset whose first dimension counts rows (samples). Rows are read and written as
// hyperslabs [first, first + rows) x (all other dimensions); in a parallel file every rank
// calls write_rows/read_rows collectively, a rank with nothing to do passing rows == 0.
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "h5/file.hpp"
#include "h5/handle.hpp"
#include "h5/types.hpp"

namespace aepipe::h5 {

struct DatasetLayout {
  // Rows per chunk; 0 picks about 1 MiB per chunk.
  hsize_t chunk_rows = 0;
  // zlib level 0..9 (0: no deflate filter).
  int deflate_level = 4;
  // Rows may be added later with set_rows() (unlimited first dimension).
  bool extendible = false;
  // Byte shuffle before deflate (groups the bytes of multi-byte values: helps float codes).
  bool shuffle = false;
};

// Rows per chunk that makes a chunk about `target_bytes` (at least 1 row).
hsize_t rows_per_chunk(std::uint64_t row_bytes, std::uint64_t target_bytes = 1 << 20);

class Dataset {
 public:
  // Creates `name` (intermediate groups too) of HDF5 type `file_type` with dims
  // [rows, row_shape...]; collective in a parallel file.
  static Dataset create(const File& file, const std::string& name, hid_t file_type, hsize_t rows,
                        const std::vector<hsize_t>& row_shape, const DatasetLayout& layout);
  static Dataset open(const File& file, const std::string& name);

  const std::string& name() const { return name_; }
  // Full name for messages: "<file>:<dataset>".
  std::string where() const;
  hid_t id() const { return handle_.get(); }
  std::vector<hsize_t> dims() const;
  hsize_t rows() const { return dims().at(0); }
  // Elements in one row (product of all dimensions but the first).
  hsize_t row_elements() const;
  // The stored type (caller owns the handle).
  Handle file_type() const;

  // Changes the number of rows of an extendible dataset; collective in a parallel file.
  void set_rows(hsize_t rows);

  // data: rows * row_elements() values of T, row-major, converted to the stored type.
  template <class T>
  void write_rows(hsize_t first, hsize_t rows, const T* data) {
    transfer_rows(first, rows, native_type<T>(), const_cast<T*>(data), true);
  }
  template <class T>
  void read_rows(hsize_t first, hsize_t rows, T* data) const {
    const_cast<Dataset*>(this)->transfer_rows(first, rows, native_type<T>(), data, false);
  }
  // Like the above with an explicit memory type (compound types, strings).
  void write_rows_as(hsize_t first, hsize_t rows, hid_t memory_type, const void* data) {
    transfer_rows(first, rows, memory_type, const_cast<void*>(data), true);
  }
  void read_rows_as(hsize_t first, hsize_t rows, hid_t memory_type, void* data) const {
    const_cast<Dataset*>(this)->transfer_rows(first, rows, memory_type, data, false);
  }

  // Reads use independent transfers in parallel files unless set (writes are always
  // collective: filtered datasets cannot be written independently).
  void set_collective_reads(bool collective) { collective_reads_ = collective; }

 private:
  Dataset(Handle handle, std::string file_path, std::string name, bool parallel)
      : handle_(std::move(handle)),
        file_path_(std::move(file_path)),
        name_(std::move(name)),
        parallel_(parallel) {}
  void transfer_rows(hsize_t first, hsize_t rows, hid_t memory_type, void* data, bool write);

  Handle handle_;
  std::string file_path_;
  std::string name_;
  bool parallel_ = false;
  bool collective_reads_ = false;
};

bool exists(const File& file, const std::string& name);

}  // namespace aepipe::h5
