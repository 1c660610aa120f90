// bf16 products (nn/bf16_gemm.hpp): the rounding, the product of rounded operands with float
// sums for every transpose, shape tail, alpha and beta, fixed tiles (thread count), and an
// autoencoder gradient in bf16 against the float one. Every product test runs with each
// kernel oneDNN offers on this CPU (native only where it makes a bf16 matmul).
#include <gtest/gtest.h>

#include <omp.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "nn/autoencoder.hpp"
#include "nn/bf16_gemm.hpp"
#include "stages/train.hpp"
#include "util/error.hpp"

namespace aepipe::nn {
namespace {

float rounded(float value) {
  return bf16_to_float(round_to_bf16(value));
}

TEST(Bf16, RoundsToNearestWithTiesToEven) {
  EXPECT_EQ(round_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(round_to_bf16(-1.0f), 0xbf80);
  // bf16 keeps 7 fraction bits: its ulp at 1 is 2^-7.
  EXPECT_EQ(round_to_bf16(1.0f + 0x1p-8f), 0x3f80);                     // tie, down to even
  EXPECT_EQ(round_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);                 // tie, up to even
  EXPECT_EQ(round_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);          // above the tie
  EXPECT_EQ(round_to_bf16(1.0f + 0x1p-7f - 0x1p-20f), 0x3f81);          // below the next tie
  EXPECT_EQ(round_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // overflows to inf
  EXPECT_EQ(round_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(round_to_bf16(-std::numeric_limits<float>::infinity()), 0xff80);
  EXPECT_TRUE(std::isnan(rounded(std::numeric_limits<float>::quiet_NaN())));
  // A NaN whose payload sits in the low 16 bits only must not become inf.
  EXPECT_TRUE(std::isnan(rounded(std::bit_cast<float>(0x7f800001u))));
  EXPECT_EQ(rounded(0.0f), 0.0f);
  EXPECT_EQ(rounded(3.140625f), 3.140625f);  // representable: kept
}

std::vector<float> random_values(std::size_t count, unsigned seed) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (auto& value : values) value = uniform(generator);
  return values;
}

struct ProductCase {
  Transpose ta, tb;
  Eigen::Index m, n, k;
  float alpha, beta;
};

// Every available kernel, restored to the automatic choice afterwards.
std::vector<Bf16Kernel> kernels() {
  std::vector<Bf16Kernel> result{Bf16Kernel::kEmulated};
  if (bf16_matmul_available()) result.push_back(Bf16Kernel::kNative);
  return result;
}

class KernelGuard {
 public:
  explicit KernelGuard(Bf16Kernel kernel) : saved_(bf16_kernel()) { set_bf16_kernel(kernel); }
  ~KernelGuard() { set_bf16_kernel(saved_); }

 private:
  Bf16Kernel saved_;
};

// C from the rounded operands, summed in double: the exact answer up to float sums.
void check_product(const ProductCase& c, unsigned seed) {
  const Eigen::Index a_rows = c.ta == Transpose::kNo ? c.m : c.k;
  const Eigen::Index a_cols = c.ta == Transpose::kNo ? c.k : c.m;
  const Eigen::Index b_rows = c.tb == Transpose::kNo ? c.k : c.n;
  const Eigen::Index b_cols = c.tb == Transpose::kNo ? c.n : c.k;
  // Leading dimensions larger than the rows: the kernel must honour them.
  const Eigen::Index lda = a_rows + 3, ldb = b_rows + 1, ldc = c.m + 2;
  const auto a = random_values(static_cast<std::size_t>(lda * a_cols), seed);
  const auto b = random_values(static_cast<std::size_t>(ldb * b_cols), seed + 1);
  auto result = random_values(static_cast<std::size_t>(ldc * c.n), seed + 2);
  const auto initial = result;
  if (c.beta == 0.0f)  // beta 0 must never read C
    for (Eigen::Index j = 0; j < c.n; ++j)
      for (Eigen::Index i = 0; i < c.m; ++i)
        result[static_cast<std::size_t>(i + j * ldc)] = std::numeric_limits<float>::quiet_NaN();
  std::vector<int> visits(static_cast<std::size_t>(c.m * c.n), 0);
  const TileEpilogue count_visits = [&](Eigen::Index row, Eigen::Index col, Eigen::Index rows,
                                        Eigen::Index cols) {
    for (Eigen::Index j = col; j < col + cols; ++j)
      for (Eigen::Index i = row; i < row + rows; ++i)
#pragma omp atomic
        ++visits[static_cast<std::size_t>(i + j * c.m)];
  };
  gemm_bf16(c.ta, c.tb, c.m, c.n, c.k, c.alpha, a.data(), lda, b.data(), ldb, c.beta, result.data(),
            ldc, &count_visits);
  const auto op_a = [&](Eigen::Index i, Eigen::Index p) {
    return c.ta == Transpose::kNo ? a[static_cast<std::size_t>(i + p * lda)]
                                  : a[static_cast<std::size_t>(p + i * lda)];
  };
  const auto op_b = [&](Eigen::Index p, Eigen::Index j) {
    return c.tb == Transpose::kNo ? b[static_cast<std::size_t>(p + j * ldb)]
                                  : b[static_cast<std::size_t>(j + p * ldb)];
  };
  double worst = 0;
  for (Eigen::Index j = 0; j < c.n; ++j)
    for (Eigen::Index i = 0; i < c.m; ++i) {
      double sum = 0, magnitude = 0;
      for (Eigen::Index p = 0; p < c.k; ++p) {
        const double product = double{rounded(op_a(i, p))} * double{rounded(op_b(p, j))};
        sum += product;
        magnitude += std::abs(product);
      }
      const double old = initial[static_cast<std::size_t>(i + j * ldc)];
      const double expected = c.alpha * sum + (c.beta == 0.0f ? 0.0 : c.beta * old);
      const double got = result[static_cast<std::size_t>(i + j * ldc)];
      // Float sums of k exact products, then one alpha/beta step.
      const double bound = 1e-6 * (static_cast<double>(c.k) * magnitude + std::abs(old) + 1e-30);
      worst = std::max(worst, std::abs(got - expected) / bound);
      ASSERT_EQ(visits[static_cast<std::size_t>(i + j * c.m)], 1) << "element " << i << "," << j;
    }
  EXPECT_LE(worst, 1.0) << "m=" << c.m << " n=" << c.n << " k=" << c.k;
  // Leading-dimension padding is left alone.
  for (Eigen::Index j = 0; j < c.n; ++j)
    for (Eigen::Index i = c.m; i < ldc; ++i)
      ASSERT_EQ(result[static_cast<std::size_t>(i + j * ldc)],
                initial[static_cast<std::size_t>(i + j * ldc)]);
}

TEST(Bf16Gemm, MatchesTheProductOfRoundedOperandsForEveryLayout) {
  const Transpose both[] = {Transpose::kNo, Transpose::kYes};
  // Shapes with tails on both tile edges (the tile is 256), a single element, no k at all.
  const Eigen::Index shapes[][3] = {
      {300, 17, 33}, {1, 1, 1}, {257, 513, 5}, {64, 3, 300}, {5, 4, 0}};
  for (const Bf16Kernel kernel : kernels()) {
    SCOPED_TRACE(bf16_kernel_name(kernel));
    KernelGuard guard(kernel);
    unsigned seed = 1;
    for (const auto ta : both)
      for (const auto tb : both)
        for (const auto& shape : shapes)
          for (const float beta : {0.0f, 1.0f, 0.5f}) {
            SCOPED_TRACE(::testing::Message() << "ta=" << static_cast<int>(ta) << " tb="
                                              << static_cast<int>(tb) << " beta=" << beta);
            check_product({ta, tb, shape[0], shape[1], shape[2], beta == 0.5f ? 2.0f : 1.0f, beta},
                          seed++);
          }
  }
  if (!bf16_matmul_available())
    std::printf("note: oneDNN has no bf16 matmul on this CPU; only the emulated kernel ran\n");
}

TEST(Bf16Gemm, ResultsDoNotDependOnTheThreadCount) {
  const Eigen::Index m = 600, n = 300, k = 70;
  const auto a = random_values(static_cast<std::size_t>(m * k), 7);
  const auto b = random_values(static_cast<std::size_t>(k * n), 8);
  for (const Bf16Kernel kernel : kernels()) {
    KernelGuard guard(kernel);
    std::vector<std::vector<float>> results;
    const int saved = omp_get_max_threads();
    for (const int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      std::vector<float> c(static_cast<std::size_t>(m * n));
      gemm_bf16(Transpose::kNo, Transpose::kNo, m, n, k, 1.0f, a.data(), m, b.data(), k, 0.0f,
                c.data(), m);
      EXPECT_EQ(omp_get_max_threads(), threads) << "the caller's thread count changed";
      results.push_back(c);
    }
    omp_set_num_threads(saved);
    EXPECT_EQ(results[0], results[1]) << bf16_kernel_name(kernel);
    EXPECT_EQ(results[0], results[2]) << bf16_kernel_name(kernel);
  }
}

TEST(Bf16Gemm, DiffersFromFloatWhereOperandsAreNotBf16Values) {
  // The rounding really happens: a product of 1 + 2^-10 (not a bf16 value) by itself.
  const float a = 1.0f + 0x1p-10f;
  float c = 0;
  gemm_bf16(Transpose::kNo, Transpose::kNo, 1, 1, 1, 1.0f, &a, 1, &a, 1, 0.0f, &c, 1);
  EXPECT_EQ(c, 1.0f);
}

// A deep ReLU network's float gradient in bf16 against fp32: close (bf16 keeps 8 bits, the
// sums are float), but not equal, so the bf16 path is the one taken.
TEST(Bf16Gemm, AutoencoderGradientIsCloseToTheFloatOne) {
  Architecture architecture = parse_architecture("64-48-32-8", {}, false);
  Objective objective;
  Autoencoder<float> fp32(architecture, objective), bf16(architecture, objective);
  fp32.initialize(3);
  bf16.initialize(3);
  bf16.set_precision(Precision::kBf16);
  Eigen::MatrixXf input(64, 40);
  std::mt19937 generator(5);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  for (auto& value : input.reshaped()) value = uniform(generator);
  fp32.forward(input);
  bf16.forward(input);
  const float loss32 = fp32.backward(input, input.cols(), nullptr);
  const float loss16 = bf16.backward(input, input.cols(), nullptr);
  const auto g32 = Eigen::Map<const Eigen::VectorXf>(
      fp32.gradients().data(), static_cast<Eigen::Index>(fp32.gradients().size()));
  const auto g16 = Eigen::Map<const Eigen::VectorXf>(
      bf16.gradients().data(), static_cast<Eigen::Index>(bf16.gradients().size()));
  const double relative = (g16 - g32).norm() / g32.norm();
  EXPECT_GT(relative, 0.0);
  EXPECT_LT(relative, 0.02);
  EXPECT_NEAR(loss16, loss32, 0.01 * std::abs(loss32));
}

TEST(Precision, ParsesNamesAndRefusesOthers) {
  EXPECT_EQ(parse_precision("fp32"), Precision::kFp32);
  EXPECT_EQ(parse_precision("bf16"), Precision::kBf16);
  EXPECT_EQ(parse_precision("auto"),
            cpu_has_native_bf16() && bf16_matmul_available() ? Precision::kBf16 : Precision::kFp32);
  EXPECT_THROW(parse_precision("fp16"), UsageError);
  EXPECT_THROW(parse_precision(""), UsageError);
}

// The config a checkpoint must match on --resume: bf16 runs say so; fp32 runs keep the text
// they had before the option existed (their checkpoints still resume).
TEST(Precision, OnlyBf16RunsRecordTheirPrecisionInTheConfig) {
  stages::TrainOptions options;
  EXPECT_EQ(stages::describe(options).find("precision"), std::string::npos);
  options.precision = "bf16";
  EXPECT_NE(stages::describe(options).find("\nprecision = bf16\n"), std::string::npos);
}

}  // namespace
}  // namespace aepipe::nn
