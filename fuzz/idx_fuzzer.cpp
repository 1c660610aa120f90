// libFuzzer harness: the IDX reader as ingest uses it (data/idx_source.cpp). The input is one
// IDX file, plain or gzip'd, opened as images through open_idx_source and as labels through
// IdxFile. Every defect must end in aepipe::Error; crashes, sanitiser reports, leaks and
// allocations past libFuzzer's -malloc_limit_mb are findings.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "data/idx_file.hpp"
#include "data/idx_source.hpp"
#include "fuzz_file.hpp"
#include "util/error.hpp"

namespace {

// Ingest reads a source in rounds of rows; a round here is at most this many bytes, so the
// harness (like a rank) never holds more than one round, whatever the header promises.
constexpr std::uint64_t kRoundBytes = 1 << 20;

void read_as_images(const std::string& path) {
  using namespace aepipe::data;
  auto source = open_idx_source(path, "");
  const std::uint64_t row_bytes = source->natural_shape().bytes();
  const auto rows = static_cast<std::uint64_t>(source->size());
  const std::uint64_t round_rows = std::max<std::uint64_t>(1, kRoundBytes / row_bytes);
  ItemSink sink{[](std::int64_t, SourceItem&&) {},
                [](std::int64_t, const std::string&, const std::string&) {}};
  // At most a few rounds: a gzip'd header may promise billions of rows.
  for (std::uint64_t first = 0, round = 0; first < rows && round < 4; first += round_rows, ++round)
    source->read(static_cast<std::int64_t>(first),
                 static_cast<std::int64_t>(std::min(round_rows, rows - first)), 0, sink);
}

void read_as_labels(const std::string& path) {
  aepipe::data::IdxFile labels(path);
  const std::uint64_t rows = labels.header().rows();
  if (labels.header().row_elements() != 1 || rows * labels.header().element_bytes > kRoundBytes)
    return;
  labels.read_labels(0, rows);
  labels.verify_end();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  static aepipe::fuzz::FuzzFile file(".idx");
  const std::string& path = file.write(data, size);
  aepipe::data::looks_like_idx(path);
  try {
    read_as_images(path);
  } catch (const aepipe::Error&) {
  }
  try {
    read_as_labels(path);
  } catch (const aepipe::Error&) {
  }
  return 0;
}
