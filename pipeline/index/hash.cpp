#include "index/hash.hpp"

#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <Eigen/SVD>
#include <cmath>
#include <limits>
#include <numbers>

#include "index/hamming_scan.hpp"
#include "index/pairwise.hpp"
#include "index/rows.hpp"
#include "index/sampling.hpp"
#include "index/top_k.hpp"
#include "mpi/agreement.hpp"
#include "nn/gemm.hpp"
#include "nn/pca.hpp"
#include "util/error.hpp"

namespace aepipe::index {
namespace {

constexpr Eigen::Index kEncodeBlock = 1024;

// Standard normal draws (Box-Muller) from the library's generator.
Eigen::MatrixXd gaussian(Eigen::Index rows, Eigen::Index cols, Random& random) {
  Eigen::MatrixXd values(rows, cols);
  for (Eigen::Index i = 0; i < values.size(); ++i) {
    const double u = 1.0 - uniform_unit(random), v = uniform_unit(random);
    values.data()[i] = std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * std::numbers::pi * v);
  }
  return values;
}

// [rows, cols] with orthonormal columns (rows >= cols), from QR of a Gaussian matrix.
Eigen::MatrixXd random_orthonormal(Eigen::Index rows, Eigen::Index cols, Random& random) {
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr(gaussian(rows, cols, random));
  return qr.householderQ() * Eigen::MatrixXd::Identity(rows, cols);
}

// The top `bits` principal directions of centred [n, d] as columns [d, bits], largest first,
// each with its largest entry positive so the sign never flips between runs.
Eigen::MatrixXd principal_directions(const Eigen::MatrixXf& centred, Eigen::Index bits) {
  const Eigen::MatrixXd x = centred.cast<double>();
  return nn::leading_eigenvectors(x.transpose() * x, bits);
}

// ITQ: the rotation R [bits, bits] minimising ||sign(V R) - V R|| with V = centred * projection.
// Products go through the factor form X (W R) and W^T (X^T B): n d bits per step, not n bits².
Eigen::MatrixXd learn_rotation(const Eigen::MatrixXf& centred, const Eigen::MatrixXd& projection,
                               int iterations, Random& random) {
  const Eigen::Index n = centred.rows(), bits = projection.cols();
  Eigen::MatrixXd rotation = random_orthonormal(bits, bits, random);
  Eigen::MatrixXf combined, signs(n, bits), cross(centred.cols(), bits);
  for (int iteration = 0; iteration < iterations; ++iteration) {
    combined = (projection * rotation).cast<float>();
    nn::gemm<float>(1.0f, centred, nn::Transpose::kNo, combined, nn::Transpose::kNo, 0.0f, signs);
    signs = signs.unaryExpr([](float v) { return v >= 0.0f ? 1.0f : -1.0f; });
    nn::gemm<float>(1.0f, centred, nn::Transpose::kYes, signs, nn::Transpose::kNo, 0.0f, cross);
    const Eigen::MatrixXd v_t_b = projection.transpose() * cross.cast<double>();
    const Eigen::BDCSVD<Eigen::MatrixXd> svd(v_t_b, Eigen::ComputeFullU | Eigen::ComputeFullV);
    rotation = svd.matrixU() * svd.matrixV().transpose();
  }
  return rotation;
}

// (vectors - mean) · rotation for rows [first, first + rows): [rows, bits] row-major in out,
// each value from its row alone (pairwise.hpp), so the bits don't depend on the rank count.
//   rotation_columns: the packed columns of the rotation ([bits, d] rows)
void project(const HashIndex& index, const PackedRows& rotation_columns, ConstRows vectors,
             Eigen::Index first, Eigen::Index rows, RowMatrixXf& centred, RowMatrixXf& out) {
  centred = vectors.middleRows(first, rows);
  centred.rowwise() -= index.mean.transpose();
  out.resize(rows, index.bits);
  pairwise(centred, rotation_columns, Pairwise::kDot, out.data());
}

}  // namespace

HashIndex train_hash(ConstRows training, const HashOptions& options) {
  const Eigen::Index n = training.rows(), d = training.cols(), bits = options.bits;
  if (bits < 1) throw UsageError(cat("hash: bits must be at least 1, got ", bits));
  if (n < 2) throw Error(cat("hash: training needs at least 2 vectors, got ", n));
  HashIndex index;
  index.method = options.method;
  index.bits = bits;
  index.mean = training.cast<double>().colwise().mean().transpose().cast<float>();
  Eigen::MatrixXf centred = training;
  centred.rowwise() -= index.mean.transpose();
  Random random(options.seed);
  const Eigen::MatrixXd projection =
      bits <= d ? principal_directions(centred, bits)
                : Eigen::MatrixXd(random_orthonormal(bits, d, random).transpose());
  Eigen::MatrixXd rotation = projection;
  if (options.method == HashMethod::kItq)
    rotation = projection * learn_rotation(centred, projection, options.iterations, random);
  index.rotation = rotation.cast<float>();
  return index;
}

HashIndex build_hash(ConstRows local_vectors, const HashOptions& options,
                     const mpi::Communicator& comm) {
  const RowRange range = global_rows(local_vectors.rows(), comm);
  const std::vector<std::int64_t> sample =
      sample_rows(range.total, options.training_rows, options.seed);
  const RowMatrixXf training =
      gather_rows(take_rows(local_vectors, local_sample(sample, range).rows), comm);
  HashIndex index = mpi::collectively(comm, [&] { return train_hash(training, options); });
  index.codes = gather_values(encode(index, local_vectors), comm);
  index.ids.resize(static_cast<std::size_t>(range.total));
  for (std::size_t i = 0; i < index.ids.size(); ++i) index.ids[i] = static_cast<std::int64_t>(i);
  return index;
}

std::vector<std::uint64_t> encode(const HashIndex& index, ConstRows vectors) {
  if (vectors.cols() != index.dim())
    throw Error(cat("vectors have ", vectors.cols(), " values per row, the hash ", index.dim()));
  const Eigen::Index words = index.words();
  std::vector<std::uint64_t> codes(static_cast<std::size_t>(vectors.rows() * words), 0);
  const PackedRows columns(index.rotation.transpose());
  RowMatrixXf centred, projected;
  for (Eigen::Index first = 0; first < vectors.rows(); first += kEncodeBlock) {
    const Eigen::Index rows = std::min(kEncodeBlock, vectors.rows() - first);
    project(index, columns, vectors, first, rows, centred, projected);
    for (Eigen::Index i = 0; i < rows; ++i) {
      std::uint64_t* code = codes.data() + (first + i) * words;
      for (Eigen::Index j = 0; j < index.bits; ++j)
        if (projected(i, j) >= 0.0f) code[j / 64] |= std::uint64_t{1} << (j % 64);
    }
  }
  return codes;
}

double quantisation_loss(const HashIndex& index, ConstRows vectors) {
  const PackedRows columns(index.rotation.transpose());
  RowMatrixXf centred, projected;
  double loss = 0.0;
  for (Eigen::Index first = 0; first < vectors.rows(); first += kEncodeBlock) {
    const Eigen::Index rows = std::min(kEncodeBlock, vectors.rows() - first);
    project(index, columns, vectors, first, rows, centred, projected);
    for (Eigen::Index i = 0; i < projected.size(); ++i) {
      const double v = projected.data()[i];
      const double difference = (v >= 0.0 ? 1.0 : -1.0) - v;
      loss += difference * difference;
    }
  }
  return vectors.rows() > 0 ? loss / static_cast<double>(vectors.rows()) : 0.0;
}

Neighbours search_hamming(const std::uint64_t* database, const std::int64_t* ids, Eigen::Index n,
                          const std::uint64_t* queries, Eigen::Index q, Eigen::Index words,
                          Eigen::Index k) {
  if (k < 1) throw UsageError(cat("k must be at least 1, got ", k));
  Neighbours result;
  result.resize(q, k);
#pragma omp parallel for schedule(dynamic, 64)
  for (Eigen::Index i = 0; i < q; ++i) {
    float* keys = result.distances.data() + i * k;
    std::int64_t* heap_ids = result.ids.data() + i * k;
    heap_reset(keys, heap_ids, k);
    scan_hamming(database, ids, n, queries + i * words, words, keys, heap_ids, k);
    heap_sort(keys, heap_ids, k);
  }
  return result;
}

Neighbours search_hash(const HashIndex& index, ConstRows queries, const SearchOptions& options) {
  const std::vector<std::uint64_t> codes = encode(index, queries);
  return search_hamming(index.codes.data(), index.ids.data(), index.size(), codes.data(),
                        queries.rows(), index.words(), options.k);
}

}  // namespace aepipe::index
