// The report's own reference points for the codec chart: JPEG of one mosaic of the test
// images (report/jpeg_mosaic.hpp), the stored size of codes (report/stored_codes.hpp) and
// quantised PCA (stages/report_baselines.hpp).
#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <cmath>
#include <filesystem>
#include <random>

#include "codec/batch_coding.hpp"
#include "codec/codes_file.hpp"
#include "codec/image_quality.hpp"
#include "h5/check.hpp"
#include "h5/file.hpp"
#include "h5/handle.hpp"
#include "nn/architecture.hpp"
#include "nn/pca.hpp"
#include "report/jpeg_mosaic.hpp"
#include "report/stored_codes.hpp"
#include "stages/report_baselines.hpp"
#include "unit/test_support.hpp"
#include "util/error.hpp"

namespace aepipe::report {
namespace {

// `count` images [H, W, C] whose pixels say which image and where they are: a smooth
// gradient, a per-image offset and a little noise (so JPEG has something to lose).
std::vector<std::uint8_t> image_set(std::int64_t count, const data::ImageShape& shape,
                                    unsigned seed) {
  std::mt19937 random(seed);
  std::normal_distribution<double> noise(0.0, 6.0);
  std::vector<std::uint8_t> images(static_cast<std::size_t>(count) * shape.bytes());
  std::size_t at = 0;
  for (std::int64_t i = 0; i < count; ++i)
    for (int y = 0; y < shape.height; ++y)
      for (int x = 0; x < shape.width; ++x)
        for (int c = 0; c < shape.channels; ++c) {
          const double value = 40.0 + 150.0 * (x + y) / (shape.width + shape.height) +
                               static_cast<double>((i * 37) % 50) + 20.0 * c + noise(random);
          images[at++] = static_cast<std::uint8_t>(std::clamp(std::lround(value), 0L, 255L));
        }
  return images;
}

TEST(ReportJpegMosaic, GridIsNearSquareLikeTheBench) {
  const data::ImageShape shape{28, 28, 1};
  for (const auto& [count, columns, rows] :
       std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>>{{1, 1, 1},
                                                                         {2, 2, 1},
                                                                         {9, 3, 3},
                                                                         {10, 4, 3},
                                                                         {400, 20, 20},
                                                                         {10000, 100, 100},
                                                                         {10001, 101, 100}}) {
    const MosaicLayout layout = mosaic_layout(count, shape);
    EXPECT_EQ(layout.columns, columns) << count;  // ceil(sqrt(count)), bench/jpeg_mosaic.py
    EXPECT_EQ(layout.rows, rows) << count;
    EXPECT_EQ(layout.height(), rows * 28);
    EXPECT_EQ(layout.width(), columns * 28);
  }
  EXPECT_THROW(mosaic_layout(0, shape), Error);
}

TEST(ReportJpegMosaic, TilesGoRowMajorAndCutBackExactly) {
  for (const int channels : {1, 3}) {
    const data::ImageShape shape{3, 5, channels};
    const std::int64_t count = 7;  // 3 columns, 3 rows, 2 empty slots
    std::vector<std::uint8_t> images(count * shape.bytes());
    for (std::size_t i = 0; i < images.size(); ++i)
      images[i] = static_cast<std::uint8_t>(i % 251 + 1);
    const MosaicLayout layout = mosaic_layout(count, shape);
    const data::Image mosaic = tile_mosaic(images.data(), layout);
    ASSERT_EQ(mosaic.height, 9);
    ASSERT_EQ(mosaic.width, 15);
    ASSERT_EQ(mosaic.channels, channels);
    // Image 5 sits in row 1, column 2: its pixel (y 2, x 4, last channel) is at (5, 14).
    const std::size_t last = static_cast<std::size_t>(channels - 1);
    EXPECT_EQ(mosaic.at(5, 14)[last], images[5 * shape.bytes() + (2 * 5 + 4) * channels + last]);
    // Image 3 starts row 1 at column 0.
    EXPECT_EQ(mosaic.at(3, 0)[0], images[3 * shape.bytes()]);
    // The empty slots (row 2, columns 1 and 2) are black.
    for (int y = 6; y < 9; ++y)
      for (int x = 5; x < 15; ++x) EXPECT_EQ(mosaic.at(y, x)[0], 0) << y << "," << x;
    EXPECT_EQ(cut_mosaic(mosaic, layout), images);
    // A mosaic of another size is refused, not misread.
    data::Image wrong = mosaic;
    wrong.width -= 1;
    EXPECT_THROW(cut_mosaic(wrong, layout), Error);
  }
}

TEST(ReportJpegMosaic, RateAndQualityFallTogether) {
  for (const int channels : {1, 3}) {
    const data::ImageShape shape{16, 16, channels};
    const std::int64_t count = 50;
    const std::vector<std::uint8_t> images = image_set(count, shape, 7);
    const MosaicLayout layout = mosaic_layout(count, shape);
    ASSERT_EQ(jpeg_mosaic_unsupported(layout), "");
    const auto points = measure_jpeg_mosaic(images.data(), layout, {95, 75, 50, 20, 5});
    ASSERT_EQ(points.size(), 5u);
    EXPECT_GT(points[0].psnr, 35.0);
    EXPECT_LT(points[4].psnr, points[0].psnr - 5.0);
    for (std::size_t i = 0; i < points.size(); ++i) {
      EXPECT_DOUBLE_EQ(points[i].bits_per_pixel,
                       8.0 * points[i].bytes / static_cast<double>(count * 16 * 16));
      if (i == 0) continue;
      EXPECT_LT(points[i].bits_per_pixel, points[i - 1].bits_per_pixel) << points[i].quality;
      EXPECT_LT(points[i].psnr, points[i - 1].psnr) << points[i].quality;
    }
  }
}

TEST(ReportJpegMosaic, RateAndPsnrAreOverTheImagesNotThePadding) {
  // Three flat grey images in a 2 x 2 grid: the empty slot is black, and its block edges
  // fall on JPEG's 8 x 8 blocks, so the grey tiles come back (nearly) exact; the rate is
  // per pixel of the 3 images, not of the 4 slots.
  const data::ImageShape shape{16, 16, 1};
  const std::vector<std::uint8_t> images(3 * shape.bytes(), 128);
  const MosaicLayout layout = mosaic_layout(3, shape);
  ASSERT_EQ(layout.rows * layout.columns, 4);
  const JpegPoint point = measure_jpeg_mosaic(images.data(), layout, {50}).at(0);
  EXPECT_GT(point.psnr, 40.0);
  EXPECT_DOUBLE_EQ(point.bits_per_pixel, 8.0 * point.bytes / (3 * 256));
}

TEST(ReportJpegMosaic, UnsupportedImagesSayWhy) {
  EXPECT_NE(jpeg_mosaic_unsupported(mosaic_layout(4, {8, 8, 2})).find("2 channels"),
            std::string::npos);
  EXPECT_NE(jpeg_mosaic_unsupported(mosaic_layout(4, {8, 40000, 1})).find("65535"),
            std::string::npos);
  std::vector<std::uint8_t> images(4 * 8 * 8 * 2);
  EXPECT_THROW(measure_jpeg_mosaic(images.data(), mosaic_layout(4, {8, 8, 2}), {50}), Error);
}

// The storage size of the same values written as /codes by plain HDF5 calls with
// CodesWriter's settings: chunks of about 1 MiB of rows (at most the rows), shuffle for
// float32, deflate.
std::uint64_t reference_storage(const std::string& path, hid_t file_type, hid_t memory_type,
                                const void* data, hsize_t rows, hsize_t width, int level) {
  h5::Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  const hsize_t dims[2] = {rows, width};
  h5::Handle space(H5Screate_simple(2, dims, nullptr));
  h5::Handle properties(H5Pcreate(H5P_DATASET_CREATE));
  const hsize_t chunk[2] = {std::min<hsize_t>(rows, (1 << 20) / (width * H5Tget_size(file_type))),
                            width};
  H5Pset_chunk(properties.get(), 2, chunk);
  if (H5Tget_class(file_type) == H5T_FLOAT) H5Pset_shuffle(properties.get());
  H5Pset_deflate(properties.get(), static_cast<unsigned>(level));
  h5::Handle dataset(H5Dcreate2(file.get(), "/codes", file_type, space.get(), H5P_DEFAULT,
                                properties.get(), H5P_DEFAULT));
  H5Dwrite(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  H5Dflush(dataset.get());
  return H5Dget_storage_size(dataset.get());
}

TEST(ReportStoredCodes, BytesAreWhatHdf5StoresForCodes) {
  testing::ScratchDir scratch;
  std::mt19937 random(3);
  const std::int64_t rows = 3000, width = 30;
  // Levels that deflate can shrink: a few bits of entropy in each byte.
  std::vector<std::uint16_t> levels(rows * width);
  std::vector<std::uint8_t> narrow(levels.size());
  std::binomial_distribution<int> level(255, 0.5);
  for (std::size_t i = 0; i < levels.size(); ++i)
    narrow[i] = static_cast<std::uint8_t>(levels[i] = static_cast<std::uint16_t>(level(random)));
  const std::string path = scratch.path("scratch.h5");
  const std::uint64_t bytes = stored_code_bytes(levels, {rows, width, 8, 9}, path);
  EXPECT_FALSE(std::filesystem::exists(path)) << "the scratch file is left behind";
  EXPECT_EQ(bytes, reference_storage(scratch.path("ref8.h5"), H5T_STD_U8LE, H5T_NATIVE_UINT8,
                                     narrow.data(), rows, width, 9));
  EXPECT_LT(bytes, static_cast<std::uint64_t>(rows * width));  // deflate did something
  EXPECT_GT(bytes, static_cast<std::uint64_t>(rows * width) / 3);
  // 12-bit levels are stored as uint16.
  const std::uint64_t wide = stored_code_bytes(levels, {rows, width, 12, 9}, path);
  EXPECT_EQ(wide, reference_storage(scratch.path("ref16.h5"), H5T_STD_U16LE, H5T_NATIVE_UINT16,
                                    levels.data(), rows, width, 9));
  // Float32 values with the byte shuffle, at another level.
  std::vector<float> values(levels.begin(), levels.end());
  for (auto& value : values) value = value / 7.0f - 18.0f;
  const std::uint64_t floats = stored_code_bytes(values, {rows, width, 0, 4}, path);
  EXPECT_EQ(floats, reference_storage(scratch.path("ref32.h5"), H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                                      values.data(), rows, width, 4));
  // Constant codes cost next to nothing.
  const std::vector<std::uint16_t> constant(levels.size(), 200);
  EXPECT_LT(stored_code_bytes(constant, {rows, width, 8, 9}, path), 1000u);
  EXPECT_THROW(stored_code_bytes(levels, {rows, width + 1, 8, 9}, path), Error);
}

// encode's code chunks: whole data-file chunks (each rank writes whole chunks of codes) only
// where that leaves at least 16 writes of at least two data-file chunks; about 1 MiB of codes
// and at most 64 MiB of images per write.
TEST(CodesLayout, ChunksAreWholeDataFileChunksForLargeFiles) {
  using codec::code_chunk_rows;
  codec::CodesLayout floats;
  floats.code_size = 30;
  EXPECT_EQ(code_chunk_rows(10000, 1337, 784, floats), 0);         // 8 chunks: about 1 MiB of codes
  EXPECT_EQ(code_chunk_rows(41447, 1337, 784, floats), 0);         // 31 chunks
  EXPECT_EQ(code_chunk_rows(42783, 1337, 784, floats), 2 * 1337);  // 32 chunks: 16 writes of 2
  EXPECT_EQ(code_chunk_rows(60000, 1337, 784, floats), 2 * 1337);  // 45 chunks: 22 writes
  EXPECT_EQ(code_chunk_rows(10'000'000, 1337, 784, floats), 6 * 1337);  // 6 * 1337 * 120 B
  codec::CodesLayout levels = floats;
  levels.code_size = 32;
  levels.bits = 5;  // one byte a value
  EXPECT_EQ(code_chunk_rows(10'000'000, 1337, 784, levels), 24 * 1337);
  levels.kept = 8;  // sparse: 8 values a row, 131072 rows a MiB, but 64 MiB of images first
  EXPECT_EQ(code_chunk_rows(10'000'000, 1337, 784, levels), 64 * 1337);
  levels.bits = 12;  // two bytes a value
  EXPECT_EQ(code_chunk_rows(10'000'000, 1337, 784, levels), 49 * 1337);
  // 3 MiB images, one per data-file chunk: 21 per write (64 MiB).
  EXPECT_EQ(code_chunk_rows(1'000'000, 1, 3 << 20, floats), 21);
}

TEST(ReportStoredCodes, ChunkRowsAreThoseGiven) {
  testing::ScratchDir scratch;
  std::vector<std::uint16_t> levels(3000 * 30);
  std::mt19937 random(5);
  std::binomial_distribution<int> level(255, 0.5);
  for (auto& value : levels) value = static_cast<std::uint16_t>(level(random));
  const std::string path = scratch.path("scratch.h5");
  // Each chunk deflates on its own (with its own Huffman tables): 30 chunks of 100 rows
  // store other bytes than one of 3000.
  EXPECT_NE(stored_code_bytes(levels, {3000, 30, 8, 9, 100}, path),
            stored_code_bytes(levels, {3000, 30, 8, 9, 3000}, path));
  EXPECT_EQ(stored_code_bytes(levels, {3000, 30, 8, 9, 0}, path),
            stored_code_bytes(levels, {3000, 30, 8, 9, 3000}, path));  // 0: ~1 MiB, all rows
}

TEST(ReportStoredCodes, DeflateLevelIsReadFromTheDataset) {
  testing::ScratchDir scratch;
  h5::File file = h5::File::create(scratch.path("levels.h5"), nullptr);
  for (const int level : {0, 1, 6, 9}) {
    const h5::Dataset dataset = h5::Dataset::create(
        file, "/d" + std::to_string(level), H5T_STD_U8LE, 10, {3}, {0, level, false, level == 6});
    EXPECT_EQ(deflate_level_of(dataset), level);
  }
}

}  // namespace
}  // namespace aepipe::report

namespace aepipe::stages {
namespace {

// A linear autoencoder doing PCA of `images` [n, D] on pixels / 255 (as nn::fit_pca does).
std::unique_ptr<nn::Autoencoder<float>> pca_of(const std::vector<std::uint8_t>& images,
                                               Eigen::Index n, Eigen::Index dim,
                                               Eigen::Index components) {
  Eigen::MatrixXd x(dim, n);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index d = 0; d < dim; ++d)
      x(d, i) = images[static_cast<std::size_t>(i * dim + d)] / 255.0;
  const Eigen::VectorXd mean = x.rowwise().mean();
  x.colwise() -= mean;
  const Eigen::MatrixXd basis = nn::leading_eigenvectors(x * x.transpose(), components);
  nn::Architecture architecture = nn::parse_architecture(
      cat(dim, "-", components),
      {nn::Activation::kLinear, nn::Activation::kLinear, nn::Activation::kLinear}, false);
  auto network = std::make_unique<nn::Autoencoder<float>>(architecture, nn::Objective{});
  network->weight(0) = basis.transpose().cast<float>();
  network->bias(0) = (-(basis.transpose() * mean)).cast<float>();
  network->weight(1) = basis.cast<float>();
  network->bias(1) = mean.cast<float>();
  return network;
}

TEST(ReportPcaPoint, QuantisedPcaIsMeasuredLikeCodes) {
  testing::ScratchDir scratch;
  const data::ImageShape shape{8, 8, 1};
  const Eigen::Index n = 500, dim = 64, k = 6;
  const std::vector<std::uint8_t> images = report::image_set(n, shape, 11);
  auto network = pca_of(images, n, dim, k);
  nn::Normalisation normalisation;
  normalisation.mean = Eigen::VectorXf::Zero(dim);
  normalisation.scale = Eigen::VectorXf::Ones(dim);
  Eigen::MatrixXf codes;
  codec::encode_pixels(*network, normalisation, images.data(), n, codes, nullptr);
  ASSERT_EQ(codes.rows(), k);

  // The float32 point's PSNR, computed here from the reconstruction.
  Eigen::MatrixXf input =
      Eigen::Map<const Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>>(images.data(),
                                                                                    dim, n)
          .cast<float>() /
      255.0f;
  const Eigen::MatrixXf output = network->forward(input);
  double error = 0;
  for (Eigen::Index i = 0; i < output.size(); ++i) {
    const double value = std::nearbyint(std::clamp(output.data()[i], 0.0f, 1.0f) * 255.0f);
    error += std::pow(value - images[static_cast<std::size_t>(i)], 2);
  }
  const double float_psnr = codec::psnr_from_mse(error / static_cast<double>(n * dim));

  const std::string path = scratch.path("scratch.h5");
  const auto exact =
      quantised_pca_point(*network, normalisation, codes, 0, 9, images.data(), shape, path);
  const auto eight =
      quantised_pca_point(*network, normalisation, codes, 8, 9, images.data(), shape, path);
  const auto four =
      quantised_pca_point(*network, normalisation, codes, 4, 9, images.data(), shape, path);
  EXPECT_EQ(exact.point.name, "PCA 6-d float32");
  EXPECT_EQ(eight.point.name, "PCA 6-d 8-bit");
  EXPECT_NEAR(exact.point.psnr, float_psnr, 1e-3);
  EXPECT_NEAR(eight.point.psnr, exact.point.psnr, 0.1);
  EXPECT_LT(eight.point.psnr, exact.point.psnr + 0.01);
  EXPECT_LT(four.point.psnr, eight.point.psnr - 0.1);
  // Rates: the stored bytes over the pixels, float32 > 8-bit > 4-bit, each at most the raw
  // size plus HDF5's chunk overhead.
  for (const auto* point : {&exact, &eight, &four})
    EXPECT_DOUBLE_EQ(point->point.bits_per_pixel,
                     8.0 * static_cast<double>(point->stored_bytes) / (n * 64));
  EXPECT_GT(exact.stored_bytes, eight.stored_bytes);
  EXPECT_GT(eight.stored_bytes, four.stored_bytes);
  EXPECT_LE(eight.stored_bytes, static_cast<std::uint64_t>(n * k) + 64);
  // The float bytes are exactly those of the codes as a codes file stores them.
  EXPECT_EQ(exact.stored_bytes,
            report::stored_code_bytes(std::span<const float>(codes.data(), codes.size()),
                                      {n, k, 0, 9}, path));
}

}  // namespace
}  // namespace aepipe::stages
