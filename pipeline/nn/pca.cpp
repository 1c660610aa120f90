#include "nn/pca.hpp"

#include <Eigen/Eigenvalues>

#include "mpi/agreement.hpp"
#include "mpi/exact_sum.hpp"
#include "nn/dataset_pass.hpp"
#include "nn/gemm.hpp"
#include "util/error.hpp"

namespace aepipe::nn {

Eigen::MatrixXd leading_eigenvectors(const Eigen::MatrixXd& symmetric, Eigen::Index count,
                                     Eigen::VectorXd* eigenvalues) {
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(symmetric);
  if (solver.info() != Eigen::Success)
    throw Error("the eigen-decomposition (PCA) did not converge");
  if (eigenvalues) *eigenvalues = solver.eigenvalues().reverse();
  // Eigenvectors come in ascending order of eigenvalue: take the last `count`.
  const Eigen::Index n = symmetric.rows();
  Eigen::MatrixXd vectors(n, count);
  for (Eigen::Index j = 0; j < count; ++j) {
    Eigen::VectorXd vector = solver.eigenvectors().col(n - 1 - j);
    Eigen::Index largest = 0;
    vector.cwiseAbs().maxCoeff(&largest);
    if (vector(largest) < 0) vector = -vector;
    vectors.col(j) = vector;
  }
  return vectors;
}

PcaFit fit_pca(const data::DataFileReader& reader, const data::RowSplit& split,
               const Normalisation& normalisation, Eigen::Index components,
               const mpi::Communicator& comm) {
  const auto dim = static_cast<Eigen::Index>(reader.shape().bytes());
  constexpr Eigen::Index kMaxDim = 4096;  // an exact [D, D] scatter sum of 256 MiB
  if (dim > kMaxDim)
    throw Error(cat("PCA of ", dim, "-dimensional rows needs a ", dim, "x", dim,
                    " covariance; use --resize, --tile or --patches to stay under ", kMaxDim));
  if (components > dim)
    throw UsageError(
        cat("pca:", components, " asks for more components than the ", dim, " input values"));

  // Pass 1: the mean. Pass 2: the scatter of centred rows (float GEMM per chunk, summed in
  // double), which keeps the covariance accurate without a huge single-precision sum.
  // Per-chunk float sums (the same chunks for any rank count) are summed exactly across chunks
  // and ranks (mpi/exact_sum.hpp): every P gets the same bits.
  mpi::ExactSum sum;
  sum.reset(static_cast<std::size_t>(dim));
  double count = 0;
  Eigen::MatrixXf batch;
  mpi::collectively(comm, [&] {
    for_each_chunk(reader, split, RowSelection::kTraining, comm.rank(), comm.size(),
                   [&](const auto& pixels, const auto& rows) {
                     normalisation.apply(pixels.data(), static_cast<Eigen::Index>(rows.size()),
                                         batch);
                     const Eigen::VectorXf chunk_sum = batch.rowwise().sum();
                     sum.add(std::span(chunk_sum.data(), static_cast<std::size_t>(dim)));
                     count += static_cast<double>(rows.size());
                   });
  });
  sum.allreduce(comm);
  count = comm.allreduce_sum(count);
  mpi::collectively(comm, [&] {
    if (count < 2)
      throw Error(cat("PCA needs at least 2 training rows, ", reader.path(), " has ", count));
  });
  Eigen::VectorXd mean(dim);
  for (Eigen::Index j = 0; j < dim; ++j) mean(j) = sum.value(static_cast<std::size_t>(j)) / count;
  const Eigen::VectorXf mean_float = mean.cast<float>();

  // The scatter of centred rows: float GEMM per chunk, summed exactly.
  mpi::ExactSum scatter_sum;
  scatter_sum.reset(static_cast<std::size_t>(dim * dim));
  Eigen::MatrixXf chunk_scatter(dim, dim);
  mpi::collectively(comm, [&] {
    for_each_chunk(
        reader, split, RowSelection::kTraining, comm.rank(), comm.size(),
        [&](const auto& pixels, const auto& rows) {
          normalisation.apply(pixels.data(), static_cast<Eigen::Index>(rows.size()), batch);
          batch.colwise() -= mean_float;
          gemm<float>(1.0f, batch, Transpose::kNo, batch, Transpose::kYes, 0.0f, chunk_scatter);
          scatter_sum.add(std::span(chunk_scatter.data(), static_cast<std::size_t>(dim * dim)));
        });
  });
  scatter_sum.allreduce(comm);
  Eigen::MatrixXd covariance(dim, dim);
  for (Eigen::Index i = 0; i < dim * dim; ++i)
    covariance.data()[i] = scatter_sum.value(static_cast<std::size_t>(i)) / (count - 1);

  // Every rank solves the same (allreduced) matrix; the result is identical.
  PcaFit fit;
  const Eigen::MatrixXd basis = leading_eigenvectors(covariance, components, &fit.eigenvalues);
  const double total = fit.eigenvalues.sum();
  fit.explained_variance = total > 0 ? fit.eigenvalues.head(components).sum() / total : 1.0;

  Architecture architecture =
      parse_architecture(cat(dim, "-", components),
                         {Activation::kLinear, Activation::kLinear, Activation::kLinear}, false);
  architecture.pca = false;  // stored and run as an ordinary linear autoencoder
  fit.network = std::make_unique<Autoencoder<float>>(architecture, Objective{});
  auto& network = *fit.network;
  network.weight(0) = basis.transpose().cast<float>();
  network.bias(0) = (-(basis.transpose() * mean)).cast<float>();
  network.weight(1) = basis.cast<float>();
  network.bias(1) = mean_float;
  return fit;
}

}  // namespace aepipe::nn
