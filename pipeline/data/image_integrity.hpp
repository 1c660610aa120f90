#pragma once
// Structural checks of encoded image files before decoding. stb_image does not verify PNG
// CRCs and fills a truncated JPEG with grey rather than failing, so damaged files would pass
// as images; these walks catch truncation and corruption and say where.
#include <cstdint>
#include <span>
#include <string>

namespace aepipe::data {

enum class ImageFormat { kPng, kJpeg, kBmp, kPnm, kGif, kOther };

ImageFormat sniff_format(std::span<const std::uint8_t> bytes);

// Each returns "" if the file is whole, else the reason (e.g. "chunk IDAT at byte 41 has a
// bad CRC", "ends before the end-of-image marker").
//   png   every chunk's CRC, IHDR first, IEND last, and the zlib stream of the IDAT chunks
//         inflated to its end (its Adler-32 checked: damage under a recomputed CRC)
//   jpeg  the marker segments walked to EOI
//   bmp, pnm (P5/P6), tga  the size the header promises (tga RLE packets walked)
//   gif   ends with the trailer byte
std::string check_png(std::span<const std::uint8_t> bytes);
std::string check_jpeg(std::span<const std::uint8_t> bytes);
std::string check_bmp(std::span<const std::uint8_t> bytes);
std::string check_pnm(std::span<const std::uint8_t> bytes);
std::string check_tga(std::span<const std::uint8_t> bytes);
std::string check_gif(std::span<const std::uint8_t> bytes);
// Only what stb_image's header probe would trip on (memory errors and undefined behaviour in
// stb itself): the JPEG Huffman tables before the first scan, PNM header numbers too large for
// an int. "" for anything else, even a file cut short.
std::string check_image_header(std::span<const std::uint8_t> bytes);

// Dispatches on the sniffed format (TGA has no signature: by the path's extension, or by the
// header test stb_image itself applies); other formats pass (stb's own checks apply).
std::string check_image_bytes(std::span<const std::uint8_t> bytes, const std::string& path = "");

}  // namespace aepipe::data
