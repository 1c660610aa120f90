#include "data/image_integrity.hpp"

#include <zlib.h>

#include <array>
#include <cstring>

#include "util/error.hpp"

namespace aepipe::data {
namespace {

constexpr std::array<std::uint8_t, 8> kPngSignature{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

std::uint32_t big_endian_32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

bool is_restart_or_fill(std::uint8_t marker) {
  return (marker >= 0xD0 && marker <= 0xD7) || marker == 0xFF || marker == 0x00;
}

// Markers that stand alone without a length field.
bool is_standalone(std::uint8_t marker) {
  return marker == 0x01 || (marker >= 0xD0 && marker <= 0xD9);
}

}  // namespace

ImageFormat sniff_format(std::span<const std::uint8_t> bytes) {
  if (bytes.size() >= kPngSignature.size() &&
      std::memcmp(bytes.data(), kPngSignature.data(), kPngSignature.size()) == 0)
    return ImageFormat::kPng;
  if (bytes.size() >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8) return ImageFormat::kJpeg;
  return ImageFormat::kOther;
}

std::string check_png(std::span<const std::uint8_t> bytes) {
  size_t at = kPngSignature.size();
  bool seen_header = false;
  bool seen_data = false;
  while (true) {
    if (at + 12 > bytes.size())
      return cat("ends at byte ", bytes.size(), " before the IEND chunk (truncated)");
    const std::uint32_t length = big_endian_32(bytes.data() + at);
    const std::string type(reinterpret_cast<const char*>(bytes.data() + at + 4), 4);
    if (length > 0x7fffffffu || at + 12 + length > bytes.size())
      return cat("chunk '", type, "' at byte ", at, " runs past the end of the file (truncated)");
    // The CRC covers the type and the data.
    const uLong crc = crc32(0L, bytes.data() + at + 4, static_cast<uInt>(length + 4));
    if (crc != big_endian_32(bytes.data() + at + 8 + length))
      return cat("chunk '", type, "' at byte ", at, " has a bad CRC (corrupted)");
    if (!seen_header && type != "IHDR") return cat("first chunk is '", type, "', not IHDR");
    seen_header = true;
    if (type == "IDAT") seen_data = true;
    at += 12 + length;
    if (type == "IEND") break;
  }
  if (!seen_data) return "has no IDAT chunk (no pixel data)";
  return "";
}

std::string check_jpeg(std::span<const std::uint8_t> bytes) {
  // Walk the marker segments; after each SOS skip entropy-coded data up to the next marker.
  size_t at = 2;
  bool seen_frame = false;
  while (true) {
    if (at + 2 > bytes.size()) return "ends before the end-of-image marker (truncated)";
    if (bytes[at] != 0xFF) return cat("expected a marker at byte ", at, " (corrupted)");
    const std::uint8_t marker = bytes[at + 1];
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0xD9) break;  // EOI
    if (is_standalone(marker)) {
      at += 2;
      continue;
    }
    if (at + 4 > bytes.size()) return "ends inside a marker segment (truncated)";
    const size_t length = (size_t{bytes[at + 2]} << 8) | bytes[at + 3];
    if (length < 2) return cat("marker segment at byte ", at, " has length ", length);
    if (at + 2 + length > bytes.size()) return "ends inside a marker segment (truncated)";
    if ((marker >= 0xC0 && marker <= 0xCF) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC)
      seen_frame = true;
    at += 2 + length;
    if (marker == 0xDA) {  // SOS: entropy-coded data follows
      if (!seen_frame) return "scan before any frame header (corrupted)";
      while (true) {
        if (at + 1 >= bytes.size()) return "ends inside the image data (truncated)";
        if (bytes[at] == 0xFF && !is_restart_or_fill(bytes[at + 1])) break;
        ++at;
      }
    }
  }
  if (!seen_frame) return "has no frame header (no image)";
  return "";
}

std::string check_image_bytes(std::span<const std::uint8_t> bytes) {
  switch (sniff_format(bytes)) {
    case ImageFormat::kPng: return check_png(bytes);
    case ImageFormat::kJpeg: return check_jpeg(bytes);
    case ImageFormat::kOther: return "";
  }
  return "";
}

}  // namespace aepipe::data
