// libFuzzer harness: opening an aepipe HDF5 file and validating its contract, as the stages
// do. The input is the whole file; it is opened with h5::File::open (the existence, access and
// signature checks first), its aepipe_format tag read, and then the reader of that kind runs
// its validation and reads a few rows: DataFileReader (+ /names, /sources), read_model,
// CodesReader, read_index_file, read_neighbours_file. Every defect must end in aepipe::Error.
// Faults inside libhdf5 itself (not instrumented) show up as SEGVs with hdf5 frames on top.
#include <Eigen/Core>
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "codec/codes_reader.hpp"
#include "data/data_file_reader.hpp"
#include "data/source_table.hpp"
#include "fuzz_file.hpp"
#include "h5/check.hpp"
#include "h5/format.hpp"
#include "h5/strings.hpp"
#include "index/index_file.hpp"
#include "index/neighbours_file.hpp"
#include "nn/model_file.hpp"
#include "util/error.hpp"

namespace {

using namespace aepipe;

// Rows read per file: enough to go through every read path, few enough to stay fast whatever
// the file claims.
constexpr std::int64_t kRows = 4;
constexpr std::uint64_t kMaxBytes = 1 << 20;

void read_data(const std::string& path) {
  data::DataFileReader reader(path);
  const std::int64_t rows = std::min<std::int64_t>(reader.rows(), kRows);
  if (reader.row_bytes() > 0 &&
      static_cast<std::uint64_t>(rows * reader.row_bytes()) <= kMaxBytes) {
    std::vector<std::uint8_t> pixels(static_cast<size_t>(rows * reader.row_bytes()));
    reader.read_images(0, rows, pixels.data());
  }
  reader.read_labels(0, rows);
  if (reader.has_tiles()) reader.read_tiles(0, rows);
  if (h5::exists(reader.file(), "/names")) {
    const h5::Dataset names = h5::Dataset::open(reader.file(), "/names");
    h5::read_strings(names, 0, std::min<hsize_t>(names.rows(), kRows));
  }
  if (h5::exists(reader.file(), "/sources")) {
    const h5::Dataset sources = h5::Dataset::open(reader.file(), "/sources");
    data::read_sources(sources, 0, std::min<hsize_t>(sources.rows(), kRows));
  }
}

void read_codes(const std::string& path) {
  codec::CodesReader reader(path);
  const std::int64_t rows = std::min<std::int64_t>(reader.rows(), kRows);
  if (static_cast<std::uint64_t>(rows * reader.code_size()) * 4 <= kMaxBytes) {
    Eigen::MatrixXf codes;
    reader.read_codes(0, rows, codes);
  }
  reader.read_labels(0, rows);
  if (reader.layout().tiles) reader.read_tiles(0, rows);
}

void read_by_kind(const std::string& path) {
  std::string kind;
  {
    const h5::File file = h5::File::open(path, h5::File::Mode::kReadOnly, nullptr);
    kind = h5::read_format_tag(file).kind;
  }
  if (kind == "data") read_data(path);
  if (kind == "model") nn::read_model(path);
  if (kind == "codes") read_codes(path);
  if (kind == "index") index::read_index_file(path);
  if (kind == "neighbours") index::read_neighbours_file(path);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  h5::silence_library_errors();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  static fuzz::FuzzFile file(".h5");
  try {
    read_by_kind(file.write(data, size));
  } catch (const Error&) {
  }
  return 0;
}
