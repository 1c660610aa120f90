#include <gtest/gtest.h>

#include <bit>

#include "index/hash.hpp"
#include "index_test_support.hpp"

namespace aepipe::index {
namespace {

using testing::random_rows;

std::vector<std::uint64_t> random_codes(Eigen::Index rows, Eigen::Index words, unsigned seed) {
  std::mt19937_64 generator(seed);
  std::vector<std::uint64_t> codes(static_cast<std::size_t>(rows * words));
  for (auto& word : codes) word = generator() & generator();  // uneven bit counts
  return codes;
}

TEST(Hamming, DistancesAndOrderEqualANaiveBitCount) {
  for (Eigen::Index words : {1, 2, 3}) {
    const Eigen::Index n = 500, q = 20, k = 25;
    const auto database = random_codes(n, words, 1 + static_cast<unsigned>(words));
    const auto queries = random_codes(q, words, 7);
    std::vector<std::int64_t> ids(n);
    std::iota(ids.begin(), ids.end(), 0);
    const Neighbours result =
        search_hamming(database.data(), ids.data(), n, queries.data(), q, words, k);
    for (Eigen::Index i = 0; i < q; ++i) {
      std::vector<std::pair<int, std::int64_t>> naive;
      for (Eigen::Index row = 0; row < n; ++row) {
        int distance = 0;
        for (Eigen::Index w = 0; w < words; ++w) {
          const std::uint64_t difference = database[row * words + w] ^ queries[i * words + w];
          for (int bit = 0; bit < 64; ++bit) distance += (difference >> bit) & 1;
        }
        naive.emplace_back(distance, row);
      }
      std::sort(naive.begin(), naive.end());
      for (Eigen::Index j = 0; j < k; ++j) {
        EXPECT_EQ(result.ids_of(i)[j], naive[j].second) << "words " << words << " query " << i;
        EXPECT_EQ(result.distances_of(i)[j], static_cast<float>(naive[j].first));
      }
    }
  }
}

// Correlated data: a random linear mix of independent sources with decaying scales.
RowMatrixXf correlated(Eigen::Index rows, Eigen::Index dim, unsigned seed) {
  RowMatrixXf sources = random_rows(rows, dim, seed);
  for (Eigen::Index j = 0; j < dim; ++j) sources.col(j) *= 3.0f / static_cast<float>(1 + j);
  const RowMatrixXf mix = random_rows(dim, dim, seed + 1);
  return sources * mix;
}

TEST(Hash, ItqQuantisesBetterThanPlainSign) {
  const RowMatrixXf data = correlated(3000, 24, 11);
  for (Eigen::Index bits : {8, 16, 24, 48}) {
    HashOptions options;
    options.bits = bits;
    options.method = HashMethod::kSign;
    const HashIndex sign = train_hash(data, options);
    options.method = HashMethod::kItq;
    const HashIndex itq = train_hash(data, options);
    const double sign_loss = quantisation_loss(sign, data), itq_loss = quantisation_loss(itq, data);
    EXPECT_LT(itq_loss, sign_loss) << bits << " bits";
    // The learned projection is orthonormal: rotation^T rotation = I (bits <= d) or
    // rotation rotation^T = I (bits > d).
    const Eigen::MatrixXf gram = bits <= 24
                                     ? Eigen::MatrixXf(itq.rotation.transpose() * itq.rotation)
                                     : Eigen::MatrixXf(itq.rotation * itq.rotation.transpose());
    EXPECT_TRUE(gram.isIdentity(1e-4f)) << bits << " bits";
  }
}

TEST(Hash, CodesAreTheSignsOfTheProjectionAndSearchFindsTheirNeighbours) {
  const RowMatrixXf data = correlated(800, 10, 3);
  HashOptions options;
  options.bits = 70;  // two words, the second partly used
  HashIndex index = train_hash(data, options);
  index.codes = encode(index, data);
  index.ids.resize(800);
  std::iota(index.ids.begin(), index.ids.end(), 0);
  ASSERT_EQ(index.codes.size(), 1600u);
  for (Eigen::Index i = 0; i < 800; i += 37) {
    const Eigen::RowVectorXf projected = (data.row(i) - index.mean.transpose()) * index.rotation;
    for (Eigen::Index j = 0; j < 70; ++j) {
      if (std::abs(projected(j)) < 1e-4f) continue;  // rounding may decide either way
      const bool bit = (index.codes[i * 2 + j / 64] >> (j % 64)) & 1;
      EXPECT_EQ(bit, projected(j) >= 0) << "row " << i << " bit " << j;
    }
    EXPECT_EQ(index.codes[i * 2 + 1] >> 6, 0u) << "bits past 70 stay 0";
  }
  // Every database vector finds itself at Hamming distance 0 (first among equal codes).
  const Neighbours result = search_hash(index, data.topRows(50), {.k = 3});
  for (Eigen::Index i = 0; i < 50; ++i) {
    EXPECT_EQ(result.distances_of(i)[0], 0.0f);
    EXPECT_LE(result.ids_of(i)[0], i);
  }
}

TEST(Hash, RejectsTooFewVectors) {
  HashOptions options;
  EXPECT_THROW(train_hash(random_rows(1, 4, 1), options), Error);
}

}  // namespace
}  // namespace aepipe::index
