#pragma once
// PCA as a closed-form linear autoencoder (--arch pca:K): the top K eigenvectors U [D, K] of
// the covariance of the (normalised) training rows, computed from per-rank sums that are
// allreduced in double. Encoder W = U^T, b = -U^T mean; decoder W = U, b = mean; linear.
#include <Eigen/Core>
#include <memory>

#include "data/data_file_reader.hpp"
#include "data/epoch_order.hpp"
#include "mpi/communicator.hpp"
#include "nn/autoencoder.hpp"
#include "nn/normalisation.hpp"

namespace aepipe::nn {

struct PcaFit {
  std::unique_ptr<Autoencoder<float>> network;
  Eigen::VectorXd eigenvalues;      // all D, descending
  double explained_variance = 0.0;  // fraction kept by the K components
};

// The `count` eigenvectors of a symmetric matrix with the largest eigenvalues, as columns
// [n, count], largest first, each with its largest entry positive so that results never
// flip sign between runs or machines.
Eigen::MatrixXd leading_eigenvectors(const Eigen::MatrixXd& symmetric, Eigen::Index count,
                                     Eigen::VectorXd* eigenvalues = nullptr);

// Collective. Throws Error if D is too large for a dense covariance or K > D.
PcaFit fit_pca(const data::DataFileReader& reader, const data::RowSplit& split,
               const Normalisation& normalisation, Eigen::Index components,
               const mpi::Communicator& comm);

}  // namespace aepipe::nn
