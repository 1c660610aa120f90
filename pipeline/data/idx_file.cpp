#include "data/idx_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "util/error.hpp"

namespace aepipe::data {
namespace {

std::uint64_t element_size(IdxType type) {
  switch (type) {
    case IdxType::kUint8:
    case IdxType::kInt8:
      return 1;
    case IdxType::kInt16:
      return 2;
    case IdxType::kInt32:
    case IdxType::kFloat32:
      return 4;
    case IdxType::kFloat64:
      return 8;
  }
  return 0;
}

bool known_type(std::uint8_t code) {
  return code == 0x08 || code == 0x09 || code == 0x0B || code == 0x0C || code == 0x0D ||
         code == 0x0E;
}

bool is_gzip(const std::uint8_t* bytes) {
  return bytes[0] == 0x1f && bytes[1] == 0x8b;
}

// zlib's message without the "<path>: " it puts in front.
std::string gzip_reason(gzFile stream, const std::string& path) {
  int code = 0;
  std::string message = gzerror(stream, &code);
  if (message.rfind(path + ": ", 0) == 0) message.erase(0, path.size() + 2);
  return message;
}

}  // namespace

std::uint64_t IdxHeader::row_elements() const {
  std::uint64_t elements = 1;
  for (size_t i = 1; i < dims.size(); ++i) elements *= dims[i];
  return elements;
}

IdxFile::IdxFile(const std::string& path) : path_(path) {
  std::ifstream raw(path, std::ios::binary);
  if (!raw) throw Error(cat("cannot open ", path, ": ", std::strerror(errno)));
  std::uint8_t magic[2] = {0, 0};
  raw.read(reinterpret_cast<char*>(magic), 2);
  compressed_ = raw.gcount() == 2 && is_gzip(magic);
  raw.close();

  stream_.reset(gzopen(path.c_str(), "rb"));
  if (!stream_) throw Error(cat("cannot open ", path, ": ", std::strerror(errno)));
  gzbuffer(stream_.get(), 1 << 18);

  std::uint8_t head[4];
  read_exact(head, 4, "header");
  if (head[0] != 0 || head[1] != 0 || !known_type(head[2]))
    throw Error(cat(path, " is not an IDX file (bad magic number)"));
  if (head[3] == 0 || head[3] > 4)
    throw Error(cat(path, ": IDX files with ", int{head[3]}, " dimensions are not supported"));
  header_.type = static_cast<IdxType>(head[2]);
  header_.element_bytes = element_size(header_.type);
  header_.dims.resize(head[3]);
  std::uint64_t total = header_.element_bytes;
  for (auto& dim : header_.dims) {
    std::uint8_t size[4];
    read_exact(size, 4, "header");
    dim = (std::uint32_t{size[0]} << 24) | (std::uint32_t{size[1]} << 16) |
          (std::uint32_t{size[2]} << 8) | std::uint32_t{size[3]};
    if (dim != 0 && total > std::numeric_limits<std::uint64_t>::max() / dim / 2)
      throw Error(cat(path, ": IDX dimensions overflow"));
    total *= dim;
  }
  header_.header_bytes = 4 + 4 * header_.dims.size();
  if (!compressed_) {
    std::error_code error;
    const auto size = std::filesystem::file_size(path, error);
    if (error) throw Error(cat("cannot read the size of ", path, ": ", error.message()));
    if (size != header_.header_bytes + total)
      throw Error(cat(path, ": IDX header promises ", header_.header_bytes + total,
                      " bytes but the file has ", size,
                      size < header_.header_bytes + total ? " (truncated)" : " (trailing data)"));
  }
}

void IdxFile::read_exact(void* out, std::uint64_t bytes, const char* what) {
  auto* cursor = static_cast<std::uint8_t*>(out);
  while (bytes > 0) {
    const unsigned piece = static_cast<unsigned>(std::min<std::uint64_t>(bytes, 1u << 30));
    const int got = gzread(stream_.get(), cursor, piece);
    if (got < 0)
      throw Error(cat(path_, ": cannot read the ", what, " at byte ", position_, ": ",
                      gzip_reason(stream_.get(), path_), " (corrupted)"));
    if (got == 0)
      throw Error(cat(path_, ": ends at byte ", position_, " inside the ", what, " (truncated)"));
    cursor += got;
    bytes -= static_cast<std::uint64_t>(got);
    position_ += static_cast<std::uint64_t>(got);
  }
}

void IdxFile::skip_to(std::uint64_t offset) {
  if (offset < position_)
    throw Error(cat("internal: IDX rows of ", path_, " requested out of order"));
  if (offset == position_) return;
  if (!compressed_) {  // plain files seek directly
    if (gzseek(stream_.get(), static_cast<z_off_t>(offset), SEEK_SET) < 0)
      throw Error(cat(path_, ": cannot seek to byte ", offset));
    position_ = offset;
    return;
  }
  std::vector<std::uint8_t> scratch(1 << 18);
  while (position_ < offset) {
    const std::uint64_t piece = std::min<std::uint64_t>(offset - position_, scratch.size());
    read_exact(scratch.data(), piece, "data");
  }
}

void IdxFile::read_rows(std::uint64_t first, std::uint64_t count, std::uint8_t* out) {
  if (first + count > header_.rows())
    throw Error(
        cat(path_, ": rows [", first, ", ", first + count, ") past its ", header_.rows(), " rows"));
  const std::uint64_t row_bytes = header_.row_elements() * header_.element_bytes;
  skip_to(header_.header_bytes + first * row_bytes);
  read_exact(out, count * row_bytes, "data");
}

std::vector<std::int32_t> IdxFile::read_labels(std::uint64_t first, std::uint64_t count) {
  if (header_.row_elements() != 1)
    throw Error(cat(path_, ": a label file must be one-dimensional"));
  std::vector<std::uint8_t> raw(count * header_.element_bytes);
  read_rows(first, count, raw.data());
  std::vector<std::int32_t> labels(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint8_t* p = raw.data() + i * header_.element_bytes;
    switch (header_.type) {
      case IdxType::kUint8:
        labels[i] = p[0];
        break;
      case IdxType::kInt8:
        labels[i] = static_cast<std::int8_t>(p[0]);
        break;
      case IdxType::kInt16:
        labels[i] = static_cast<std::int16_t>((p[0] << 8) | p[1]);
        break;
      case IdxType::kInt32:
        labels[i] =
            static_cast<std::int32_t>((std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                                      (std::uint32_t{p[2]} << 8) | p[3]);
        break;
      default:
        throw Error(cat(path_, ": labels must be integers, not floating point"));
    }
  }
  return labels;
}

void IdxFile::verify_end() {
  const std::uint64_t end =
      header_.header_bytes + header_.rows() * header_.row_elements() * header_.element_bytes;
  skip_to(end);
  std::uint8_t extra = 0;
  const int got = gzread(stream_.get(), &extra, 1);
  if (got < 0)
    throw Error(
        cat(path_, ": damaged at its end: ", gzip_reason(stream_.get(), path_), " (corrupted)"));
  if (got > 0) throw Error(cat(path_, ": has data after the ", header_.rows(), " rows"));
}

bool looks_like_idx(const std::string& path) {
  gzFile stream = gzopen(path.c_str(), "rb");
  if (stream == nullptr) return false;
  std::uint8_t head[4] = {1, 1, 0, 0};
  const int got = gzread(stream, head, 4);
  gzclose(stream);
  return got == 4 && head[0] == 0 && head[1] == 0 && known_type(head[2]) && head[3] >= 1 &&
         head[3] <= 4;
}

}  // namespace aepipe::data
