#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include "h5/attribute.hpp"
#include "h5/dataset.hpp"
#include "h5/format.hpp"
#include "index/index_file.hpp"
#include "index_test_support.hpp"
#include "mpi/communicator.hpp"
#include "util/error.hpp"

namespace aepipe::index {
namespace {

namespace fs = std::filesystem;
using testing::random_rows;

class IndexFile : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() / ("aepipe-index-file-" + std::to_string(::getpid()));
    fs::create_directories(folder_);
  }
  void TearDown() override { fs::remove_all(folder_); }
  std::string path(const std::string& leaf) const { return (folder_ / leaf).string(); }

  // A small index of each kind, built on this process alone.
  Index build(const std::string& spec, unsigned seed = 1) const {
    const mpi::Communicator self(MPI_COMM_SELF);
    BuildOptions options;
    options.seed = seed;
    return build_index(parse_index_spec(spec), random_rows(300, 7, seed), options, self);
  }

  // Writes `spec`'s index, lets `damage` change the file, and returns read_index_file's error.
  std::string error_after(const std::string& spec,
                          const std::function<void(const std::string&)>& damage) {
    const std::string file = path("damaged.h5");
    write_index_file(file, build(spec));
    damage(file);
    try {
      read_index_file(file);
    } catch (const Error& error) {
      return error.what();
    }
    return "(no error)";
  }

  fs::path folder_;
};

void expect_same(const Index& a, const Index& b) {
  ASSERT_EQ(a.index(), b.index());
  EXPECT_EQ(spec_of(a), spec_of(b));
  if (const auto* flat = std::get_if<FlatIndex>(&a)) {
    const auto& other = std::get<FlatIndex>(b);
    EXPECT_EQ(flat->vectors, other.vectors);
    EXPECT_EQ(flat->ids, other.ids);
    EXPECT_EQ(flat->norms, other.norms);
  } else if (const auto* ivf = std::get_if<IvfIndex>(&a)) {
    const auto& other = std::get<IvfIndex>(b);
    EXPECT_EQ(ivf->centroids, other.centroids);
    EXPECT_EQ(ivf->list_offsets, other.list_offsets);
    EXPECT_EQ(ivf->ids, other.ids);
    EXPECT_EQ(ivf->vectors, other.vectors);
    EXPECT_EQ(ivf->norms, other.norms);
  } else {
    const auto& hash = std::get<HashIndex>(a);
    const auto& other = std::get<HashIndex>(b);
    EXPECT_EQ(hash.mean, other.mean);
    EXPECT_EQ(hash.rotation, other.rotation);
    EXPECT_EQ(hash.codes, other.codes);
    EXPECT_EQ(hash.ids, other.ids);
  }
}

TEST_F(IndexFile, RoundTripsEveryKindAndSearchesAlike) {
  const RowMatrixXf queries = random_rows(20, 7, 99);
  for (const char* spec :
       {"flat", "flat:cosine", "ivf:8", "ivf:5:ip", "hash:16", "hash:100:sign"}) {
    SCOPED_TRACE(spec);
    const Index original = build(spec), other = build(spec, 2);
    // The round trip must have something to tell apart: another seed gives another index.
    EXPECT_NE(search(original, queries, {.k = 5}).ids, search(other, queries, {.k = 5}).ids);
    write_index_file(path("index.h5"), original);
    const Index read = read_index_file(path("index.h5"));
    expect_same(original, read);
    const Neighbours before = search(original, queries, {.k = 5, .nprobe = 3});
    const Neighbours after = search(read, queries, {.k = 5, .nprobe = 3});
    EXPECT_EQ(before.ids, after.ids);
    EXPECT_EQ(before.distances, after.distances);
  }
}

TEST_F(IndexFile, AtomicWriteLeavesOnlyTheFinalFile) {
  const mpi::Communicator self(MPI_COMM_SELF);
  write_index(path("final.h5"), build("ivf:4"), self);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder_))
    names.push_back(entry.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"final.h5"});
  EXPECT_NO_THROW(read_index_file(path("final.h5")));
}

TEST_F(IndexFile, SourceAndLabelsRoundTripAndStayOptional) {
  const mpi::Communicator self(MPI_COMM_SELF);
  const Index index = build("ivf:4");
  std::vector<std::int32_t> labels(300);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int32_t>(i % 7);
  write_index(path("with.h5"), index, self, {"codes.h5", labels});
  const IndexSummary with = read_index_summary(path("with.h5"));
  EXPECT_EQ(with.spec, parse_index_spec("ivf:4"));
  EXPECT_EQ(with.dim, 7);
  EXPECT_EQ(with.count, 300);
  EXPECT_EQ(with.source.codes, "codes.h5");
  ASSERT_TRUE(with.source.labels.has_value());
  EXPECT_EQ(*with.source.labels, labels);
  expect_same(read_index_file(path("with.h5")), index);

  // Files written before the source was recorded: no attribute, no /labels.
  write_index_file(path("old.h5"), index);
  const IndexSummary old = read_index_summary(path("old.h5"));
  EXPECT_EQ(old.source.codes, "");
  EXPECT_FALSE(old.source.labels.has_value());

  labels.pop_back();
  EXPECT_THROW(write_index_file(path("bad.h5"), index, {"codes.h5", labels}), Error);
  // /labels of the wrong length are found by name.
  {
    h5::File opened = h5::File::open(path("with.h5"), h5::File::Mode::kReadWrite, nullptr);
    H5Ldelete(opened.id(), "/labels", H5P_DEFAULT);
    h5::Dataset short_labels =
        h5::Dataset::create(opened, "/labels", H5T_STD_I32LE, 299, {}, {0, 0, false});
    short_labels.write_rows(0, 299, labels.data());
  }
  try {
    read_index_summary(path("with.h5"));
    ADD_FAILURE() << "read labels of the wrong length";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("with.h5:/labels has shape [299], expected [300]"),
              std::string::npos)
        << error.what();
  }
}

TEST_F(IndexFile, TruncatedOrForeignFilesAreRejectedByName) {
  const std::string file = path("index.h5");
  write_index_file(file, build("flat"));
  const auto size = fs::file_size(file);
  for (auto keep : {size / 2, std::uintmax_t{100}, std::uintmax_t{0}}) {
    fs::resize_file(file, keep);
    try {
      read_index_file(file);
      ADD_FAILURE() << "read a file cut to " << keep << " bytes";
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find(file), std::string::npos) << error.what();
    }
  }
  std::ofstream(path("text.h5")) << "not hdf5";
  EXPECT_THROW(read_index_file(path("text.h5")), Error);
  EXPECT_THROW(read_index_file(path("missing.h5")), Error);
}

TEST_F(IndexFile, WrongFormatVersionOrAttributesAreExplained) {
  const auto set_attribute = [](const std::string& name, auto value) {
    return [name, value](const std::string& file) {
      h5::File opened = h5::File::open(file, h5::File::Mode::kReadWrite, nullptr);
      h5::write_attribute(opened.id(), name, value, file);
      opened.close();
    };
  };
  EXPECT_NE(error_after("flat", set_attribute("aepipe_format", std::string("codes")))
                .find("is an aepipe 'codes' file, expected a 'index' file"),
            std::string::npos);
  EXPECT_NE(error_after("flat", set_attribute("aepipe_version", std::int64_t{2}))
                .find("has aepipe_version 2"),
            std::string::npos);
  EXPECT_NE(error_after("flat", set_attribute("type", std::string("hnsw")))
                .find("unknown index type 'hnsw'"),
            std::string::npos);
  EXPECT_NE(error_after("ivf:4", set_attribute("metric", std::string("hamming")))
                .find("a 'ivf' index cannot use the metric 'hamming'"),
            std::string::npos);
  EXPECT_NE(error_after("flat", set_attribute("dim", std::int64_t{8}))
                .find("damaged.h5:/vectors has shape [300, 7], expected [300, 8]"),
            std::string::npos);
  EXPECT_NE(error_after("hash:16", set_attribute("bits", std::int64_t{0}))
                .find("attribute bits is 0, expected 1 to 4096"),
            std::string::npos);
}

// Overwrites row `row` of `dataset` with `value`.
template <class T>
std::function<void(const std::string&)> set_row(const std::string& dataset, hsize_t row, T value) {
  return [=](const std::string& file) {
    h5::File opened = h5::File::open(file, h5::File::Mode::kReadWrite, nullptr);
    {
      h5::Dataset data = h5::Dataset::open(opened, dataset);
      std::vector<T> values(data.row_elements(), value);
      data.write_rows(row, 1, values.data());
    }
    opened.close();
  };
}

TEST_F(IndexFile, DamagedContentsAreFoundAndLocated) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NE(error_after("flat", set_row("/vectors", 17, nan))
                .find("damaged.h5:/vectors row 17 column 0 is nan"),
            std::string::npos);
  EXPECT_NE(error_after("flat", set_row("/ids", 3, std::int64_t{5}))
                .find("damaged.h5:/ids row 5 holds 5, expected each of 0 to 299 once"),
            std::string::npos);
  EXPECT_NE(error_after("flat", set_row("/ids", 3, std::int64_t{-2})).find("/ids row 3 holds -2"),
            std::string::npos);
  EXPECT_NE(error_after("ivf:4", set_row("/list_offsets", 2, std::int64_t{0}))
                .find("damaged.h5:/list_offsets decreases at list 1"),
            std::string::npos);
  EXPECT_NE(error_after("ivf:4", set_row("/list_offsets", 4, std::int64_t{299}))
                .find("/list_offsets ends at 299, expected the vector count 300"),
            std::string::npos);
  EXPECT_NE(error_after("ivf:4", set_row("/centroids", 1, INFINITY)).find("/centroids row 1"),
            std::string::npos);
  EXPECT_NE(error_after("hash:16", set_row("/bits", 7, ~std::uint64_t{0}))
                .find("/bits row 7 sets bits past the 16 of the hash"),
            std::string::npos);
  EXPECT_NE(
      error_after("hash:16", set_row("/mean", 2, nan)).find("damaged.h5:/mean value 2 is nan"),
      std::string::npos);
  const auto drop = [](const std::string& file) {
    h5::File opened = h5::File::open(file, h5::File::Mode::kReadWrite, nullptr);
    H5Ldelete(opened.id(), "/rotation", H5P_DEFAULT);
    opened.close();
  };
  EXPECT_NE(error_after("hash:16", drop).find("dataset /rotation not found in"), std::string::npos);
}

}  // namespace
}  // namespace aepipe::index
