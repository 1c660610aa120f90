#include <gtest/gtest.h>
#include <zlib.h>

#include "data/idx_file.hpp"
#include "data/idx_source.hpp"
#include "unit/test_support.hpp"
#include "util/error.hpp"

namespace aepipe::data {
namespace {

std::vector<std::uint8_t> idx_bytes(std::uint8_t type, const std::vector<std::uint32_t>& dims,
                                    const std::vector<std::uint8_t>& payload) {
  std::vector<std::uint8_t> bytes{0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (auto dim : dims)
    for (int shift : {24, 16, 8, 0}) bytes.push_back(static_cast<std::uint8_t>(dim >> shift));
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  return bytes;
}

void write_gzip(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  gzFile out = gzopen(path.c_str(), "wb");
  gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(out);
}

std::vector<std::uint8_t> counting(size_t n) {
  std::vector<std::uint8_t> values(n);
  for (size_t i = 0; i < n; ++i) values[i] = static_cast<std::uint8_t>(i * 7);
  return values;
}

class IdxFileTest : public ::testing::Test {
 protected:
  testing::ScratchDir dir;
};

TEST_F(IdxFileTest, ReadsRowsOfPlainAndGzipFilesAlike) {
  const auto payload = counting(5 * 3 * 2);
  const auto bytes = idx_bytes(0x08, {5, 3, 2}, payload);
  testing::write_bytes(dir.path("plain.idx"), bytes);
  write_gzip(dir.path("packed.idx.gz"), bytes);
  for (const char* leaf : {"plain.idx", "packed.idx.gz"}) {
    IdxFile file(dir.path(leaf));
    EXPECT_EQ(file.header().rows(), 5u);
    EXPECT_EQ(file.header().row_elements(), 6u);
    std::vector<std::uint8_t> rows(12);
    file.read_rows(1, 2, rows.data());
    EXPECT_TRUE(std::equal(rows.begin(), rows.end(), payload.begin() + 6)) << leaf;
    file.read_rows(4, 1, rows.data());
    EXPECT_TRUE(std::equal(rows.begin(), rows.begin() + 6, payload.begin() + 24)) << leaf;
    EXPECT_NO_THROW(file.verify_end()) << leaf;
    EXPECT_THROW(file.read_rows(0, 1, rows.data()), Error) << "rows must not go backwards";
  }
}

TEST_F(IdxFileTest, LabelsOfEveryIntegerType) {
  testing::write_bytes(dir.path("u8"), idx_bytes(0x08, {3}, {0, 9, 255}));
  testing::write_bytes(dir.path("i8"), idx_bytes(0x09, {2}, {0xFF, 4}));
  testing::write_bytes(dir.path("i16"), idx_bytes(0x0B, {2}, {0x01, 0x00, 0xFF, 0xFE}));
  testing::write_bytes(dir.path("i32"), idx_bytes(0x0C, {1}, {0x00, 0x01, 0x00, 0x02}));
  EXPECT_EQ(IdxFile(dir.path("u8")).read_labels(0, 3), (std::vector<std::int32_t>{0, 9, 255}));
  EXPECT_EQ(IdxFile(dir.path("i8")).read_labels(0, 2), (std::vector<std::int32_t>{-1, 4}));
  EXPECT_EQ(IdxFile(dir.path("i16")).read_labels(0, 2), (std::vector<std::int32_t>{256, -2}));
  EXPECT_EQ(IdxFile(dir.path("i32")).read_labels(0, 1), (std::vector<std::int32_t>{65538}));
}

TEST_F(IdxFileTest, DamageIsReportedWithTheFileName) {
  const auto bytes = idx_bytes(0x08, {4, 2, 2}, counting(16));
  const std::string truncated = dir.path("truncated.idx");
  testing::write_bytes(truncated, {bytes.begin(), bytes.end() - 3});
  try {
    IdxFile file(truncated);
    FAIL() << "a truncated IDX file opened";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(truncated), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("truncated"), std::string::npos);
  }
  auto bad_magic = bytes;
  bad_magic[0] = 7;
  testing::write_bytes(dir.path("magic.idx"), bad_magic);
  EXPECT_THROW(IdxFile(dir.path("magic.idx")), Error);
  EXPECT_FALSE(looks_like_idx(dir.path("magic.idx")));
  EXPECT_THROW(IdxFile(dir.path("missing.idx")), Error);

  // A gzip stream cut short fails when the missing rows are read.
  write_gzip(dir.path("full.gz"), bytes);
  std::FILE* in = std::fopen(dir.path("full.gz").c_str(), "rb");
  std::vector<std::uint8_t> gz(4096);
  gz.resize(std::fread(gz.data(), 1, gz.size(), in));
  std::fclose(in);
  testing::write_bytes(dir.path("cut.gz"), {gz.begin(), gz.end() - 10});
  // (Small files are read whole by the first buffered read: the failure may come at open.)
  std::vector<std::uint8_t> rows(16);
  EXPECT_THROW(
      {
        IdxFile cut(dir.path("cut.gz"));
        cut.read_rows(0, 4, rows.data());
        cut.verify_end();
      },
      Error);

  // A flipped byte in the gzip trailer (CRC) is caught by verify_end.
  auto bad_crc = gz;
  bad_crc[gz.size() - 6] ^= 0xFF;
  testing::write_bytes(dir.path("crc.gz"), bad_crc);
  EXPECT_THROW(
      {
        IdxFile crc(dir.path("crc.gz"));
        crc.read_rows(0, 4, rows.data());
        crc.verify_end();
      },
      Error);
}

TEST_F(IdxFileTest, SourceRejectsNonByteImagesAndMismatchedLabels) {
  testing::write_bytes(dir.path("float.idx"), idx_bytes(0x0D, {1, 1, 1}, {0, 0, 0, 0}));
  EXPECT_THROW(open_idx_source(dir.path("float.idx"), ""), Error);
  testing::write_bytes(dir.path("images.idx"), idx_bytes(0x08, {2, 2, 2}, counting(8)));
  testing::write_bytes(dir.path("labels.idx"), idx_bytes(0x08, {3}, {1, 2, 3}));
  EXPECT_THROW(open_idx_source(dir.path("images.idx"), dir.path("labels.idx")), Error);
  testing::write_bytes(dir.path("two.idx"), idx_bytes(0x08, {2}, {5, 6}));
  auto source = open_idx_source(dir.path("images.idx"), dir.path("two.idx"));
  std::vector<std::int32_t> labels;
  std::vector<std::string> names;
  ItemSink sink{[&](std::int64_t, SourceItem&& item) {
                  labels.push_back(item.label);
                  names.push_back(item.name);
                },
                [](std::int64_t, const std::string&, const std::string& why) { FAIL() << why; }};
  source->read(0, 2, 1, sink);
  EXPECT_EQ(labels, (std::vector<std::int32_t>{5, 6}));
  EXPECT_EQ(names, (std::vector<std::string>{"images.idx:0", "images.idx:1"}));
}

}  // namespace
}  // namespace aepipe::data
