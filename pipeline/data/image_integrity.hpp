#pragma once
// Structural checks of encoded image files before decoding. stb_image does not verify PNG
// CRCs and fills a truncated JPEG with grey rather than failing, so damaged files would pass
// as images; these walks catch truncation and corruption and say where.
#include <cstdint>
#include <span>
#include <string>

namespace aepipe::data {

enum class ImageFormat { kPng, kJpeg, kOther };

ImageFormat sniff_format(std::span<const std::uint8_t> bytes);

// Each returns "" if the file is whole, else the reason (e.g. "chunk IDAT at byte 41 has a
// bad CRC", "ends before the end-of-image marker").
std::string check_png(std::span<const std::uint8_t> bytes);
std::string check_jpeg(std::span<const std::uint8_t> bytes);

// Dispatches on the sniffed format; other formats pass (stb's own checks apply).
std::string check_image_bytes(std::span<const std::uint8_t> bytes);

}  // namespace aepipe::data
