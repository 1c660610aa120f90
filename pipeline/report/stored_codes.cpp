#include "report/stored_codes.hpp"

#include <cstdio>
#include <vector>

#include "h5/check.hpp"
#include "h5/file.hpp"
#include "util/error.hpp"

namespace aepipe::report {
namespace {

// Removes the scratch file however the measurement ends.
class ScratchFile {
 public:
  explicit ScratchFile(std::string path) : path_(std::move(path)) {}
  ~ScratchFile() { std::remove(path_.c_str()); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void check_layout(std::size_t count, const StoredCodesLayout& layout) {
  if (layout.rows < 0 || layout.width < 1 ||
      count != static_cast<std::size_t>(layout.rows * layout.width))
    throw Error(
        cat("internal: ", count, " code values for ", layout.rows, " rows of ", layout.width));
  if (layout.deflate_level < 0 || layout.deflate_level > 9)
    throw Error(cat("internal: deflate level ", layout.deflate_level));
}

// Writes [rows, width] values of T as /codes with CodesWriter's settings; returns the size.
template <class T>
std::uint64_t stored_bytes(const T* data, hid_t file_type, const StoredCodesLayout& layout,
                           const std::string& scratch) {
  ScratchFile file_path(scratch);
  h5::File file = h5::File::create(file_path.path(), nullptr);
  std::uint64_t bytes = 0;
  {
    const auto width = static_cast<hsize_t>(layout.width);
    // 0 rows per chunk: about 1 MiB, as Dataset::create picks for a codes file.
    const h5::DatasetLayout dataset_layout{static_cast<hsize_t>(layout.chunk_rows),
                                           layout.deflate_level, false, layout.bits == 0};
    h5::Dataset codes = h5::Dataset::create(
        file, "/codes", file_type, static_cast<hsize_t>(layout.rows), {width}, dataset_layout);
    codes.write_rows(0, static_cast<hsize_t>(layout.rows), data);
    // Flushed first: the storage size counts the chunks written to the file.
    h5::check_status(H5Dflush(codes.id()), cat("flushing ", codes.where()));
    bytes = H5Dget_storage_size(codes.id());
  }
  file.close();
  return bytes;
}

}  // namespace

std::uint64_t stored_code_bytes(std::span<const float> values, const StoredCodesLayout& layout,
                                const std::string& scratch) {
  check_layout(values.size(), layout);
  if (layout.bits != 0) throw Error("internal: float32 codes with bits > 0");
  return stored_bytes(values.data(), H5T_IEEE_F32LE, layout, scratch);
}

std::uint64_t stored_code_bytes(std::span<const std::uint16_t> levels,
                                const StoredCodesLayout& layout, const std::string& scratch) {
  check_layout(levels.size(), layout);
  if (layout.bits < 1 || layout.bits > 16)
    throw Error(cat("internal: ", layout.bits, "-bit levels"));
  if (layout.bits > 8) return stored_bytes(levels.data(), H5T_STD_U16LE, layout, scratch);
  // Narrowed in memory, as CodesWriter does: the stored bytes are uint8 either way.
  const std::vector<std::uint8_t> narrow(levels.begin(), levels.end());
  return stored_bytes(narrow.data(), H5T_STD_U8LE, layout, scratch);
}

int deflate_level_of(const h5::Dataset& dataset) {
  h5::Handle properties(h5::check_id(H5Dget_create_plist(dataset.id()),
                                     cat("creation properties of ", dataset.where())));
  const int filters = H5Pget_nfilters(properties.get());
  h5::check_status(filters, cat("filters of ", dataset.where()));
  for (int i = 0; i < filters; ++i) {
    unsigned flags = 0, config = 0;
    unsigned values[4] = {0, 0, 0, 0};
    size_t count = 4;
    const H5Z_filter_t filter = H5Pget_filter2(properties.get(), static_cast<unsigned>(i), &flags,
                                               &count, values, 0, nullptr, &config);
    h5::check_status(filter, cat("filter ", i, " of ", dataset.where()));
    if (filter == H5Z_FILTER_DEFLATE) return count > 0 ? static_cast<int>(values[0]) : 0;
  }
  return 0;
}

}  // namespace aepipe::report
