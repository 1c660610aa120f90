#pragma once
// MNIST-style IDX files, gzip-compressed or not (detected from the content, not the name).
//   header: 0x00 0x00 <type> <ndims>, then ndims big-endian uint32 sizes, then the data
//   big-endian, row-major. Rows are slices along the first dimension.
// Reading is sequential and forward-only (gzip cannot seek backwards cheaply): rows must be
// requested in increasing order.
#include <zlib.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace aepipe::data {

enum class IdxType : std::uint8_t {
  kUint8 = 0x08,
  kInt8 = 0x09,
  kInt16 = 0x0B,
  kInt32 = 0x0C,
  kFloat32 = 0x0D,
  kFloat64 = 0x0E
};

struct IdxHeader {
  IdxType type = IdxType::kUint8;
  std::vector<std::uint32_t> dims;  // dims[0] = rows
  std::uint64_t header_bytes = 0;
  std::uint64_t element_bytes = 1;
  std::uint64_t rows() const { return dims.empty() ? 0 : dims[0]; }
  std::uint64_t row_elements() const;
};

class IdxFile {
 public:
  // Opens and parses the header; throws Error naming the file on any defect. For an
  // uncompressed file the size must match the header exactly.
  explicit IdxFile(const std::string& path);
  const IdxHeader& header() const { return header_; }
  const std::string& path() const { return path_; }
  bool compressed() const { return compressed_; }

  // Reads rows [first, first + count) as raw bytes (big-endian as stored) into `out`
  // (count * row_elements * element_bytes bytes). first must not go backwards.
  void read_rows(std::uint64_t first, std::uint64_t count, std::uint8_t* out);
  // Reads rows as int32 values (for label files of any integer type).
  std::vector<std::int32_t> read_labels(std::uint64_t first, std::uint64_t count);
  // After the last row: checks that nothing follows and, for gzip, that the stream's CRC and
  // length are intact. Throws naming the file otherwise.
  void verify_end();

 private:
  void read_exact(void* out, std::uint64_t bytes, const char* what);
  void skip_to(std::uint64_t offset);

  std::string path_;
  IdxHeader header_;
  bool compressed_ = false;
  std::unique_ptr<gzFile_s, int (*)(gzFile)> stream_{nullptr, gzclose};
  std::uint64_t position_ = 0;  // bytes of (decompressed) content consumed
};

// True if the file starts like an IDX file, possibly gzip'd (sniffs only a few bytes).
bool looks_like_idx(const std::string& path);

}  // namespace aepipe::data
