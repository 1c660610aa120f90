// The HDF5 layer on serially opened files: datasets, attributes, strings, format tags and
// damaged files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "h5/attribute.hpp"
#include "h5/dataset.hpp"
#include "h5/format.hpp"
#include "h5/strings.hpp"
#include "unit/test_support.hpp"
#include "util/error.hpp"

namespace aepipe::h5 {
namespace {

std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

class H5Serial : public ::testing::Test {
 protected:
  testing::ScratchDir dir;
};

TEST_F(H5Serial, ChunkedDeflatedRowsRoundTripAndGrow) {
  const std::string path = dir.path("rows.h5");
  {
    File file = File::create(path, nullptr);
    Dataset data = Dataset::create(file, "/group/values", H5T_STD_U16LE, 0, {3}, {4, 6, true});
    std::vector<std::uint16_t> first{1, 2, 3, 4, 5, 6};
    data.set_rows(2);
    data.write_rows(0, 2, first.data());
    data.set_rows(7);
    std::vector<std::uint16_t> more(15);
    for (size_t i = 0; i < more.size(); ++i) more[i] = static_cast<std::uint16_t>(1000 + i);
    data.write_rows(2, 5, more.data());
    data.write_rows(5, 0, static_cast<std::uint16_t*>(nullptr));  // empty: allowed
    EXPECT_THROW(data.write_rows(6, 2, more.data()), Error);      // past the end
  }
  File file = File::open(path, File::Mode::kReadOnly, nullptr);
  Dataset data = Dataset::open(file, "/group/values");
  EXPECT_EQ(data.dims(), (std::vector<hsize_t>{7, 3}));
  std::vector<std::int64_t> back(6);  // converted on read
  data.read_rows(1, 2, back.data());
  EXPECT_EQ(back, (std::vector<std::int64_t>{4, 5, 6, 1000, 1001, 1002}));
  EXPECT_TRUE(exists(file, "/group/values"));
  EXPECT_FALSE(exists(file, "/group/other"));
  EXPECT_FALSE(exists(file, "/missing/deeper/still"));
  EXPECT_NE(message_of([&] { Dataset::open(file, "/nope"); }).find("/nope"), std::string::npos);
}

TEST_F(H5Serial, AttributesOfEachType) {
  const std::string path = dir.path("attributes.h5");
  File file = File::create(path, nullptr);
  write_attribute(file.id(), "count", std::int64_t{-42}, path);
  write_attribute(file.id(), "ratio", 0.25, path);
  write_attribute(file.id(), "text", std::string("ünïcode"), path);
  write_attribute(file.id(), "count", std::int64_t{43}, path);  // rewriting replaces
  EXPECT_EQ(read_int_attribute(file.id(), "count", path), 43);
  EXPECT_EQ(read_float_attribute(file.id(), "ratio", path), 0.25);
  EXPECT_EQ(read_string_attribute(file.id(), "text", path), "ünïcode");
  EXPECT_FALSE(read_int_attribute(file.id(), "absent", path).has_value());
  EXPECT_THROW(read_int_attribute(file.id(), "text", path), Error);
  EXPECT_THROW(read_string_attribute(file.id(), "count", path), Error);
}

TEST_F(H5Serial, VariableLengthStrings) {
  const std::string path = dir.path("strings.h5");
  File file = File::create(path, nullptr);
  Dataset names = create_string_dataset(file, "/names", 4, {});
  const std::vector<std::string> values{"a", "", "with space/and:colon", "ß"};
  write_strings(names, 0, std::span(values).subspan(0, 2));
  write_strings(names, 2, std::span(values).subspan(2));
  EXPECT_EQ(read_strings(names, 0, 4), values);
  EXPECT_EQ(read_strings(names, 3, 1), (std::vector<std::string>{"ß"}));
}

TEST_F(H5Serial, FormatTagsAreCheckedWithClearMessages) {
  const std::string path = dir.path("tagged.h5");
  {
    File file = File::create(path, nullptr);
    write_format_tag(file, {"model", 3});
  }
  File file = File::open(path, File::Mode::kReadOnly, nullptr);
  EXPECT_EQ(read_format_tag(file).kind, "model");
  EXPECT_NO_THROW(require_format(file, "model", 3));
  const std::string wrong_kind = message_of([&] { require_format(file, "data", 1); });
  EXPECT_NE(wrong_kind.find("'model'"), std::string::npos);
  EXPECT_NE(wrong_kind.find(path), std::string::npos);
  const std::string too_new = message_of([&] { require_format(file, "model", 2); });
  EXPECT_NE(too_new.find("aepipe_version 3"), std::string::npos);

  const std::string plain = dir.path("plain.h5");
  { File other = File::create(plain, nullptr); }
  File untagged = File::open(plain, File::Mode::kReadOnly, nullptr);
  EXPECT_NE(message_of([&] { read_format_tag(untagged); }).find("not an aepipe file"),
            std::string::npos);
}

TEST_F(H5Serial, OpeningBadFilesSaysWhy) {
  EXPECT_NE(message_of([&] {
              File::open(dir.path("missing.h5"), File::Mode::kReadOnly, nullptr);
            }).find("no such file"),
            std::string::npos);
  EXPECT_NE(message_of([&] {
              File::open(dir.root().string(), File::Mode::kReadOnly, nullptr);
            }).find("folder"),
            std::string::npos);
  testing::write_bytes(dir.path("text.h5"), {'h', 'e', 'l', 'l', 'o'});
  EXPECT_NE(message_of([&] {
              File::open(dir.path("text.h5"), File::Mode::kReadOnly, nullptr);
            }).find("not an HDF5 file"),
            std::string::npos);
}

TEST_F(H5Serial, TruncatedFilesFailCleanly) {
  const std::string path = dir.path("whole.h5");
  {
    File file = File::create(path, nullptr);
    Dataset data = Dataset::create(file, "/images", H5T_STD_U8LE, 5000, {64}, {0, 1, false});
    std::vector<std::uint8_t> values(5000 * 64);
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<std::uint8_t>(i * 31 % 251);
    data.write_rows(0, 5000, values.data());
    write_format_tag(file, {"data", 1});
  }
  const auto size = std::filesystem::file_size(path);
  for (double fraction : {0.05, 0.5, 0.9}) {
    const std::string cut = dir.path("cut.h5");
    std::filesystem::copy_file(path, cut, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::resize_file(cut,
                                 static_cast<std::uintmax_t>(static_cast<double>(size) * fraction));
    // Either opening or reading must fail with an Error naming the file; never crash.
    const std::string message = message_of([&] {
      File file = File::open(cut, File::Mode::kReadOnly, nullptr);
      Dataset data = Dataset::open(file, "/images");
      std::vector<std::uint8_t> values(5000 * 64);
      data.read_rows(0, 5000, values.data());
    });
    EXPECT_NE(message.find(cut), std::string::npos) << "fraction " << fraction << ": " << message;
  }
}

}  // namespace
}  // namespace aepipe::h5
