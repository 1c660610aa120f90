#pragma once
// Binary hashing: each vector becomes `bits` bits, bit j = [(x - mean) · rotation[:, j] >= 0],
// searched by Hamming distance (popcount of XOR).
//
// The projection `rotation` [d, bits] is learned on a global sample (the same rows for any
// rank count), in two steps:
//   1. reduce or embed: bits <= d: the top `bits` principal directions (PCA); bits > d: a
//      random embedding with orthonormal rows (a seeded Gaussian matrix, orthonormalised).
//      PCA cannot give more directions than d, and spreading d dimensions over more bits
//      through a fixed random basis keeps distances (it is an isometry) while ITQ then turns
//      that basis to fit the binary corners.
//   2. rotate: iterative quantisation (Gong & Lazebnik, ITQ) alternates B = sign(V R) and
//      R = the orthogonal Procrustes solution of min ||B - V R|| (SVD of V^T B), from a
//      seeded random rotation; HashMethod::kSign skips this step (R = I): the plain-sign
//      baseline.
#include <cstdint>
#include <vector>

#include "index/spec.hpp"
#include "index/types.hpp"
#include "mpi/communicator.hpp"

namespace aepipe::index {

struct HashIndex {
  HashMethod method = HashMethod::kItq;
  Eigen::Index bits = 0;
  Eigen::VectorXf mean;              // [d]
  RowMatrixXf rotation;              // [d, bits]
  std::vector<std::uint64_t> codes;  // [N, words] row-major; bit j in word j / 64, bit j % 64;
                                     // bits past `bits` are 0
  std::vector<std::int64_t> ids;     // [N]

  Eigen::Index words() const { return (bits + 63) / 64; }
  Eigen::Index size() const { return static_cast<Eigen::Index>(ids.size()); }
  Eigen::Index dim() const { return mean.size(); }
};

struct HashOptions {
  Eigen::Index bits = 64;
  HashMethod method = HashMethod::kItq;
  std::uint64_t seed = 1;
  int iterations = 50;  // ITQ iterations
  // The mean, projection and rotation are learned on a global sample of at most this many rows.
  Eigen::Index training_rows = 16384;
};

// Collective: rank r holds rows [first_r, first_r + n_r) of the database (ranks in order);
// ids are global row numbers. Every rank gets the whole index, identical for any rank count.
HashIndex build_hash(ConstRows local_vectors, const HashOptions& options,
                     const mpi::Communicator& comm);

// Learns mean and rotation from training [n, d] (held whole); leaves codes and ids empty.
HashIndex train_hash(ConstRows training, const HashOptions& options);

// The codes of vectors [n, d]: [n, words] row-major.
std::vector<std::uint64_t> encode(const HashIndex& index, ConstRows vectors);

// Mean over rows of ||sign(v) - v||², v = (x - mean) · rotation: what ITQ minimises.
double quantisation_loss(const HashIndex& index, ConstRows vectors);

// queries [Q, d] (float, encoded first) -> Neighbours [Q, k] by Hamming distance.
Neighbours search_hash(const HashIndex& index, ConstRows queries, const SearchOptions& options);

// Hamming search of codes against codes: database [n, words], ids [n]; queries [q, words].
Neighbours search_hamming(const std::uint64_t* database, const std::int64_t* ids, Eigen::Index n,
                          const std::uint64_t* queries, Eigen::Index q, Eigen::Index words,
                          Eigen::Index k);

}  // namespace aepipe::index
