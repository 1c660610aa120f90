#include "data/image_integrity.hpp"

#include <zlib.h>

#include <array>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <vector>

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

std::uint32_t little_endian_32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
         (std::uint32_t{p[3]} << 24);
}

std::uint32_t little_endian_16(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8);
}

std::string short_by(std::uint64_t expected, std::size_t size) {
  return cat("has ", size, " bytes but its header promises ", expected, " (truncated)");
}

// Inflates the concatenated IDAT data to its end: zlib checks the stream's Adler-32, which
// catches damage that a recomputed chunk CRC hides.
std::string check_png_pixel_stream(std::span<const std::uint8_t> bytes) {
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) return "cannot start zlib";
  std::vector<std::uint8_t> scratch(1 << 16);
  int status = Z_OK;
  for (size_t at = kPngSignature.size(); at + 12 <= bytes.size() && status != Z_STREAM_END;) {
    const std::uint32_t length = big_endian_32(bytes.data() + at);
    if (std::memcmp(bytes.data() + at + 4, "IDAT", 4) == 0) {
      stream.next_in = const_cast<Bytef*>(bytes.data() + at + 8);
      stream.avail_in = length;
      while (stream.avail_in > 0 && status == Z_OK) {
        stream.next_out = scratch.data();
        stream.avail_out = static_cast<uInt>(scratch.size());
        status = inflate(&stream, Z_NO_FLUSH);
        if (status == Z_BUF_ERROR) status = Z_OK;  // needs more input: next chunk
      }
    }
    at += 12 + length;
  }
  // Flush what remains buffered inside zlib.
  while (status == Z_OK) {
    stream.next_out = scratch.data();
    stream.avail_out = static_cast<uInt>(scratch.size());
    const uInt before = stream.avail_out;
    status = inflate(&stream, Z_NO_FLUSH);
    if (status == Z_BUF_ERROR || (status == Z_OK && stream.avail_out == before)) break;
  }
  const std::string reason = stream.msg != nullptr ? stream.msg : "";
  inflateEnd(&stream);
  if (status == Z_STREAM_END) return "";
  if (status == Z_DATA_ERROR || status == Z_NEED_DICT)
    return cat("its pixel data is corrupted (zlib: ", reason.empty() ? "data error" : reason, ")");
  return "its pixel data ends early (truncated)";
}

// Where a JPEG's segments start: after 0xFF 0xD8 (SOI), which stb_image accepts after any
// number of 0xFF fill bytes, so a file starting 0xFF 0xFF ... 0xFF 0xD8 is a JPEG to it.
// 0 if the bytes do not start like that.
size_t jpeg_segments_start(std::span<const std::uint8_t> bytes) {
  if (bytes.empty() || bytes[0] != 0xFF) return 0;
  size_t at = 1;
  while (at < bytes.size() && bytes[at] == 0xFF) ++at;
  return at < bytes.size() && bytes[at] == 0xD8 ? at + 1 : 0;
}

// stb_image reads a DHT segment's tables (stbi__process_marker) while the segment has bytes
// left: each a class/id byte, 16 code counts and as many symbols, read on past the segment's
// end if the counts say so. Counts adding up to more than 256 (the JPEG limit) make it write
// past its Huffman arrays: memory corruption from a 200-byte file. This follows the same
// bytes, tables [begin, end) of the segment, and refuses such a table. Each table read sets
// bit `class * 4 + id` of `defined` (ids past 3 are stb's to refuse).
std::string check_huffman_tables(std::span<const std::uint8_t> bytes, size_t begin, size_t end,
                                 unsigned& defined) {
  for (size_t at = begin; at < end;) {
    size_t codes = 0;
    for (size_t i = at + 1; i < at + 17 && i < bytes.size(); ++i) codes += bytes[i];
    if (codes > 256)
      return cat("Huffman table at byte ", at, " has ", codes,
                 " codes, more than the 256 a JPEG allows (corrupted)");
    if (at < bytes.size() && (bytes[at] >> 4) <= 1 && (bytes[at] & 15) <= 3)
      defined |= 1u << ((bytes[at] >> 4) * 4 + (bytes[at] & 15));
    at += 17 + codes;
  }
  return "";
}

// stb_image decodes a scan with the Huffman tables its header selects whether a DHT segment
// defined them or not; an undefined one is uninitialised memory, and decoding with it indexes
// far outside the table (UBSan, stb_image.h:2115: a 342-byte fuzzed file whose AC table was
// defined as table 1 and selected as table 0). libjpeg refuses such a scan, and so does this.
// The SOS segment is [at, at + 2 + length); which tables a scan uses follows stb's decoder:
// a baseline scan both of each component's, a progressive one its DC table in a first DC scan
// (Ss = 0, Ah = 0), none in a DC refinement, its AC table in an AC scan (Ss > 0).
std::string check_scan_tables(std::span<const std::uint8_t> bytes, size_t at, size_t length,
                              bool progressive, unsigned defined) {
  const size_t components = length >= 3 ? bytes[at + 4] : 0;
  if (length < 6 + 2 * components)
    return cat("scan header at byte ", at, " is too short for its ", components,
               " components (corrupted)");
  const size_t spectral_start = bytes[at + 5 + 2 * components];
  const size_t approximation_high = bytes[at + 7 + 2 * components] >> 4;
  const bool uses_dc = !progressive || (spectral_start == 0 && approximation_high == 0);
  const bool uses_ac = !progressive || spectral_start > 0;
  for (size_t i = 0; i < components; ++i) {
    const unsigned selectors = bytes[at + 6 + 2 * i];
    const unsigned dc = selectors >> 4, ac = selectors & 15;
    const auto missing = [&](unsigned table_class, unsigned id) {
      return id <= 3 && (defined & (1u << (table_class * 4 + id))) == 0;
    };
    if ((uses_dc && missing(0, dc)) || (uses_ac && missing(1, ac)))
      return cat("scan at byte ", at, " uses ", uses_dc && missing(0, dc) ? "DC" : "AC",
                 " Huffman table ", uses_dc && missing(0, dc) ? dc : ac,
                 ", which no DHT segment before it defines (corrupted)");
  }
  return "";
}

// stb_image's TGA header test (stbi__tga_test): TGA has no signature, and stb tries it last,
// on any file no other decoder claimed.
bool looks_like_tga(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 18) return false;
  const std::uint8_t colour_map = bytes[1], type = bytes[2], bits = bytes[16];
  if (colour_map > 1) return false;
  if (colour_map == 1) {
    if ((type != 1 && type != 9) || (bits != 8 && bits != 16)) return false;
    const std::uint8_t entry_bits = bytes[7];
    if (entry_bits != 8 && entry_bits != 15 && entry_bits != 16 && entry_bits != 24 &&
        entry_bits != 32)
      return false;
  } else if (type != 2 && type != 3 && type != 10 && type != 11) {
    return false;
  }
  return little_endian_16(bytes.data() + 12) >= 1 && little_endian_16(bytes.data() + 14) >= 1 &&
         (bits == 8 || bits == 15 || bits == 16 || bits == 24 || bits == 32);
}

// "P5|P6 <ws> width <ws> height <ws> maxval": the three values, and `at` left on the byte after
// maxval. '#' comments run to the end of their line ('\n' or '\r', as stb_image reads them).
// False if a value is missing.
bool parse_pnm_header(std::span<const std::uint8_t> bytes, std::uint64_t (&values)[3], size_t& at) {
  for (auto& value : values) {
    while (at < bytes.size() && (std::isspace(bytes[at]) || bytes[at] == '#')) {
      if (bytes[at] == '#')
        while (at < bytes.size() && bytes[at] != '\n' && bytes[at] != '\r') ++at;
      else
        ++at;
    }
    if (at >= bytes.size() || !std::isdigit(bytes[at])) return false;
    while (at < bytes.size() && std::isdigit(bytes[at]) && value < (std::uint64_t{1} << 40))
      value = value * 10 + (bytes[at++] - '0');
  }
  return true;
}

}  // namespace

std::string check_bmp(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 26) return "ends inside its header (truncated)";
  const std::uint32_t offset = little_endian_32(bytes.data() + 10);
  const std::uint32_t header = little_endian_32(bytes.data() + 14);
  std::int64_t width = 0, height = 0;
  std::uint32_t bits = 0, compression = 0;
  if (header == 12) {  // OS/2 BITMAPCOREHEADER
    width = little_endian_16(bytes.data() + 18);
    height = little_endian_16(bytes.data() + 20);
    bits = little_endian_16(bytes.data() + 24);
  } else {
    if (bytes.size() < 34) return "ends inside its header (truncated)";
    width = static_cast<std::int32_t>(little_endian_32(bytes.data() + 18));
    height = static_cast<std::int32_t>(little_endian_32(bytes.data() + 22));
    bits = little_endian_16(bytes.data() + 28);
    compression = little_endian_32(bytes.data() + 30);
  }
  if (compression != 0 && compression != 3) return "";  // RLE or embedded codecs: stb decides
  const std::uint64_t stride =
      (static_cast<std::uint64_t>(bits) * static_cast<std::uint64_t>(std::llabs(width)) + 31) / 32 *
      4;
  const std::uint64_t expected = offset + stride * static_cast<std::uint64_t>(std::llabs(height));
  return bytes.size() < expected ? short_by(expected, bytes.size()) : "";
}

std::string check_pnm(std::span<const std::uint8_t> bytes) {
  size_t at = 2;
  std::uint64_t values[3] = {0, 0, 0};
  if (!parse_pnm_header(bytes, values, at)) return "has a malformed header";
  if (values[0] == 0 || values[1] == 0)
    return cat("declares an image of ", values[1], " x ", values[0], " pixels");
  ++at;  // the single whitespace byte before the data
  const std::uint64_t channels = bytes[1] == '6' ? 3 : 1;
  const std::uint64_t expected = at + values[0] * values[1] * channels * (values[2] > 255 ? 2 : 1);
  return bytes.size() < expected ? short_by(expected, bytes.size()) : "";
}

std::string check_tga(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 18) return "ends inside its header (truncated)";
  const std::uint64_t id_length = bytes[0];
  const std::uint8_t colour_map = bytes[1], type = bytes[2];
  const std::uint64_t map_length = little_endian_16(bytes.data() + 5);
  const std::uint64_t map_entry = (bytes[7] + 7u) / 8;
  const std::uint64_t width = little_endian_16(bytes.data() + 12);
  const std::uint64_t height = little_endian_16(bytes.data() + 14);
  const std::uint64_t pixel = (bytes[16] + 7u) / 8;
  std::uint64_t at = 18 + id_length + (colour_map == 1 ? map_length * map_entry : 0);
  const std::uint64_t pixels = width * height;
  if (type == 1 || type == 2 || type == 3) {
    const std::uint64_t expected = at + pixels * pixel;
    return bytes.size() < expected ? short_by(expected, bytes.size()) : "";
  }
  if (type == 9 || type == 10 || type == 11) {
    // Run-length packets: a header byte, then one pixel (run) or count pixels (raw).
    for (std::uint64_t done = 0; done < pixels;) {
      if (at >= bytes.size()) return "ends inside its run-length data (truncated)";
      const std::uint8_t packet = bytes[at++];
      const std::uint64_t count = (packet & 0x7fu) + 1u;
      at += (packet & 0x80u) ? pixel : count * pixel;
      done += count;
    }
    return at > bytes.size() ? "ends inside its run-length data (truncated)" : "";
  }
  return "";
}

// Runs the GIF LZW decoder over an image's data sub-blocks starting at `at`, counting the
// pixels its codes stand for (no pixels are made). "" once `needed` are covered.
std::string count_gif_pixels(std::span<const std::uint8_t> bytes, size_t at, unsigned min_code,
                             std::uint64_t needed) {
  if (min_code < 1 || min_code > 11)
    return cat("its image data starts with an LZW code size of ", min_code,
               ", not 1 to 11 (corrupted)");
  const std::uint32_t clear = 1u << min_code, end_of_information = clear + 1;
  std::vector<std::uint32_t> lengths(4096, 1);  // pixels per code; literals are 1
  std::uint32_t code_size = min_code + 1, next = clear + 2;
  std::int64_t previous = -1;
  std::uint64_t pixels = 0, bits = 0;
  unsigned bit_count = 0;
  size_t block_left = 0;
  while (true) {
    while (bit_count < code_size) {  // the next byte of the sub-block chain
      if (block_left == 0) {
        if (at >= bytes.size() || bytes[at] == 0) break;
        block_left = bytes[at++];
      }
      if (at >= bytes.size()) break;
      bits |= std::uint64_t{bytes[at++]} << bit_count;
      bit_count += 8;
      --block_left;
    }
    if (bit_count < code_size) break;  // the data ended without an end code
    const auto code = static_cast<std::uint32_t>(bits & ((1u << code_size) - 1));
    bits >>= code_size;
    bit_count -= code_size;
    if (code == clear) {
      code_size = min_code + 1;
      next = clear + 2;
      previous = -1;
      continue;
    }
    if (code == end_of_information) break;
    if (code > next || (code == next && previous < 0) || (code > clear && code < clear + 2))
      return cat("its image data is corrupted (LZW code ", code, " where at most ", next,
                 " can come)");
    pixels += code < next ? lengths[code] : lengths[static_cast<size_t>(previous)] + 1u;
    if (pixels >= needed) return "";
    if (previous >= 0 && next < 4096) {
      lengths[next] = lengths[static_cast<size_t>(previous)] + 1u;
      ++next;
      if (next == (1u << code_size) && code_size < 12) ++code_size;
    }
    previous = code;
  }
  return cat("its image data ends after ", pixels, " of its ", needed,
             " pixels (truncated or corrupted)");
}

// A GIF is a header, the logical screen (and its colour table), then blocks up to the trailer
// 0x3B. stb_image decodes the first image and leaves whatever its LZW data does not reach as
// background: a 35-byte file declaring a 16000 x 16000 screen decoded "successfully" into
// 1 GiB of nothing. So the blocks are walked and the first image's codes counted.
std::string check_gif(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 13) return "ends inside its header (truncated)";
  const auto colour_table_bytes = [](std::uint8_t flags) -> size_t {
    return (flags & 0x80u) != 0 ? size_t{3} << ((flags & 7u) + 1) : 0;
  };
  // Past a chain of sub-blocks (a length byte, then that many bytes; 0 ends it).
  const auto skip_sub_blocks = [&](size_t& at) {
    while (at < bytes.size()) {
      const size_t length = bytes[at++];
      if (length == 0) return true;
      at += length;
    }
    return false;
  };
  size_t at = 13 + colour_table_bytes(bytes[10]);
  bool seen_image = false;
  while (true) {
    if (at >= bytes.size()) return "ends before its trailer byte (truncated)";
    const size_t block_at = at;
    const std::uint8_t block = bytes[at++];
    if (block == 0x3B) break;  // trailer; writers may pad after it
    if (block == 0x21) {       // extension: a label, then sub-blocks
      ++at;
      if (!skip_sub_blocks(at)) return "ends inside an extension block (truncated)";
      continue;
    }
    if (block != 0x2C)
      return cat("has a block of unknown type ", static_cast<unsigned>(block), " at byte ",
                 block_at, " (corrupted)");
    if (at + 10 > bytes.size()) return "ends inside an image descriptor (truncated)";
    const std::uint64_t width = little_endian_16(bytes.data() + at + 4);
    const std::uint64_t height = little_endian_16(bytes.data() + at + 6);
    at += 9 + colour_table_bytes(bytes[at + 8]);
    if (at >= bytes.size()) return "ends inside an image's colour table (truncated)";
    const unsigned min_code = bytes[at++];
    const size_t data_at = at;
    if (!skip_sub_blocks(at)) return "ends inside its image data (truncated)";
    if (!seen_image) {  // the one stb_image decodes
      seen_image = true;
      if (width == 0 || height == 0) return "has an image of 0 pixels";
      const std::string pixels = count_gif_pixels(bytes, data_at, min_code, width * height);
      if (!pixels.empty()) return pixels;
    }
  }
  return seen_image ? "" : "has no image";
}

ImageFormat sniff_format(std::span<const std::uint8_t> bytes) {
  if (bytes.size() >= kPngSignature.size() &&
      std::memcmp(bytes.data(), kPngSignature.data(), kPngSignature.size()) == 0)
    return ImageFormat::kPng;
  if (jpeg_segments_start(bytes) > 0) return ImageFormat::kJpeg;
  if (bytes.size() >= 2 && bytes[0] == 'B' && bytes[1] == 'M') return ImageFormat::kBmp;
  if (bytes.size() >= 2 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '6'))
    return ImageFormat::kPnm;
  if (bytes.size() >= 6 && std::memcmp(bytes.data(), "GIF8", 4) == 0) return ImageFormat::kGif;
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
    if (!seen_header && length >= 8 &&
        (big_endian_32(bytes.data() + at + 8) == 0 || big_endian_32(bytes.data() + at + 12) == 0))
      return cat("declares an image of ", big_endian_32(bytes.data() + at + 12), " x ",
                 big_endian_32(bytes.data() + at + 8), " pixels");
    seen_header = true;
    if (type == "IDAT") seen_data = true;
    at += 12 + length;
    if (type == "IEND") break;
  }
  if (!seen_data) return "has no IDAT chunk (no pixel data)";
  return check_png_pixel_stream(bytes);
}

std::string check_jpeg(std::span<const std::uint8_t> bytes) {
  // Walk the marker segments; after each SOS skip entropy-coded data up to the next marker.
  size_t at = jpeg_segments_start(bytes);
  if (at == 0) return "does not start with a JPEG start-of-image marker";
  bool seen_frame = false, progressive = false;
  unsigned huffman_tables = 0;  // bit class * 4 + id: defined so far
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
    if ((marker >= 0xC0 && marker <= 0xCF) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      seen_frame = true;
      progressive = marker == 0xC2;  // the one progressive frame stb_image decodes
    }
    if (marker == 0xC4)
      if (std::string bad = check_huffman_tables(bytes, at + 4, at + 2 + length, huffman_tables);
          !bad.empty())
        return bad;
    if (marker == 0xDA) {  // SOS: entropy-coded data follows
      if (!seen_frame) return "scan before any frame header (corrupted)";
      if (std::string bad = check_scan_tables(bytes, at, length, progressive, huffman_tables);
          !bad.empty())
        return bad;
    }
    at += 2 + length;
    if (marker == 0xDA) {
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

std::string check_image_header(std::span<const std::uint8_t> bytes) {
  if (sniff_format(bytes) == ImageFormat::kPnm) {
    // stb_image reads these numbers into an int digit by digit, overflowing past 2^31 (undefined
    // behaviour); it refuses sizes past 2^24 and maxval past 65535 anyway.
    size_t at = 2;
    std::uint64_t values[3] = {0, 0, 0};
    parse_pnm_header(bytes, values, at);
    for (const std::uint64_t value : values)
      if (value > (std::uint64_t{1} << 24))
        return cat("has a header value of ", value, ", more than the limit of ", 1 << 24);
    return "";
  }
  // The segments before the first scan, found the way stb_image's header parser finds them
  // (stbi__decode_jpeg_header): it steps over stray bytes between segments up to the next
  // 0xFF, so this does too. Whatever else is wrong is check_jpeg's (or stb's) to say.
  size_t at = jpeg_segments_start(bytes);
  if (at == 0) return "";
  while (at + 4 <= bytes.size()) {
    const std::uint8_t marker = bytes[at + 1];
    if (bytes[at] != 0xFF || marker == 0xFF) {
      ++at;
      continue;
    }
    if (marker == 0xD9 || marker == 0xDA) break;
    if (is_standalone(marker)) {
      at += 2;
      continue;
    }
    const size_t length = (size_t{bytes[at + 2]} << 8) | bytes[at + 3];
    if (length < 2) break;
    unsigned defined = 0;  // the scans are check_jpeg's
    if (marker == 0xC4)
      if (std::string bad = check_huffman_tables(bytes, at + 4, at + 2 + length, defined);
          !bad.empty())
        return bad;
    at += 2 + length;
  }
  return "";
}

std::string check_image_bytes(std::span<const std::uint8_t> bytes, const std::string& path) {
  switch (sniff_format(bytes)) {
    case ImageFormat::kPng:
      return check_png(bytes);
    case ImageFormat::kJpeg:
      return check_jpeg(bytes);
    case ImageFormat::kBmp:
      return check_bmp(bytes);
    case ImageFormat::kPnm:
      return check_pnm(bytes);
    case ImageFormat::kGif:
      return check_gif(bytes);
    case ImageFormat::kOther:
      break;
  }
  std::string extension = path.size() >= 4 ? path.substr(path.size() - 4) : "";
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // stb_image decodes whatever passes its TGA header test as TGA, whatever the file's name.
  return extension == ".tga" || looks_like_tga(bytes) ? check_tga(bytes) : "";
}

}  // namespace aepipe::data
