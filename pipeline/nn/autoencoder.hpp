#pragma once
// An autoencoder of dense layers: encoder layers 0..L-1 map the input to the code, decoder
// layers L..2L-1 map it back. All parameters live in one flat buffer and all gradients in
// another (so one MPI_Allreduce combines a step); layers are views into them:
//   layer l: W_l [out, in] (column-major), then b_l [out]; a tied decoder layer has only
//   its bias and uses the transpose of its mirrored encoder weight.
// Batches are column-major [features, samples]: one column per sample.
#include <Eigen/Core>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "nn/architecture.hpp"
#include "nn/objective.hpp"
#include "nn/precision.hpp"

namespace aepipe::nn {

template <class T>
class Autoencoder {
 public:
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  using MatrixMap = Eigen::Map<Matrix>;
  using VectorMap = Eigen::Map<Vector>;

  Autoencoder(const Architecture& architecture, const Objective& objective);
  Autoencoder(const Autoencoder&) = delete;  // layer views point into the buffers
  Autoencoder& operator=(const Autoencoder&) = delete;

  const Architecture& architecture() const { return architecture_; }
  const Objective& objective() const { return objective_; }
  void set_objective(const Objective& objective);
  std::size_t layer_count() const { return 2 * architecture_.encoder_layers(); }
  bool tied(std::size_t layer) const;
  Activation activation(std::size_t layer) const;
  // The weight used by `layer` as stored: for a tied decoder layer, its encoder's weight
  // (which the layer applies transposed).
  MatrixMap weight(std::size_t layer) { return weight_view(parameter_data_, layer); }
  VectorMap bias(std::size_t layer) { return bias_view(parameter_data_, layer); }
  MatrixMap weight_gradient(std::size_t layer) { return weight_view(gradients_.data(), layer); }
  VectorMap bias_gradient(std::size_t layer) { return bias_view(gradients_.data(), layer); }

  // The number format of every dense product (forward and backward); element-wise passes,
  // parameters and gradients stay T. bf16 needs T = float.
  void set_precision(Precision precision);
  Precision precision() const { return precision_; }

  std::span<T> parameters() { return {parameter_data_, parameters_.size()}; }
  std::span<T> gradients() { return gradients_; }
  std::span<const T> parameters() const { return {parameter_data_, parameters_.size()}; }

  // Training with the node's one copy of the parameters (mpi/node_shared_step.hpp): from
  // here on parameters() and every layer view are `storage` (parameters().size() elements,
  // already holding the parameters, kept alive by the caller) until use_own_parameters(),
  // which copies them back into the network's own buffer.
  void use_parameter_storage(std::span<T> storage);
  void use_own_parameters();

  // Glorot-uniform weights (He-uniform before relu), zero biases; same on every rank.
  void initialize(std::uint64_t seed);

  // Runs the whole network; input [D, b]. Returns the reconstruction [D, b].
  const Matrix& forward(const Matrix& input) { return forward(input, nullptr); }
  // Training for quantised codes: code_noise [k, b] is added to the code before the decoder
  // (null: none). backward() then passes gradients straight through the noise, and the
  // sparsity terms and the code layer's derivative use the clean code.
  const Matrix& forward(const Matrix& input, const Matrix* code_noise);
  // Runs the encoder only. Returns the code [k, b].
  const Matrix& encode(const Matrix& input);
  // Runs the decoder only on a code [k, b]. Returns the reconstruction [D, b].
  const Matrix& decode(const Matrix& code);
  // The code the encoder made (without any code noise of the last forward()).
  const Matrix& code() const {
    return noisy_code_ ? clean_code_ : activations_[architecture_.encoder_layers()];
  }
  // After encode() of a top-k model: 1 where a code unit was kept [k, b].
  const Matrix& top_k_mask() const { return top_k_mask_; }
  const Matrix& output() const { return activations_.back(); }
  // Sum over this rank's samples of each code unit's activation [k]: allreduced and divided
  // by the global batch it gives rho^ for the KL term.
  Vector code_sum() const { return code().rowwise().sum(); }

  // After forward(): overwrites gradients() with the gradient of this rank's share of the
  // data terms (reconstruction, L1, KL with the given global rho^), each sample weighted
  // 1/global_batch, so summing over ranks gives the global batch's gradient. Returns this
  // rank's share of the reconstruction (+ L1) loss. `rho_hat` is needed for kl only.
  // `gradient` (parameters().size() elements): written instead of gradients(), so a caller
  // that sums pieces gets each piece's gradient where it sums it, without a copy.
  T backward(const Matrix& target, Eigen::Index global_batch, const Vector* rho_hat,
             std::span<T> gradient = {});
  // beta * sum_j KL(rho || rho^_j) (the same on every rank: add it once).
  T kl_penalty(const Vector& rho_hat) const;
  // Adds lambda * W to the weight gradients at flat indices [begin, end) of gradients()
  // (default: all of them); the sharded step adds it to its own slice of the summed gradient.
  void add_weight_decay(std::size_t begin = 0, std::size_t end = SIZE_MAX);
  // lambda/2 sum ||W||^2 without touching gradients.
  T weight_decay_penalty() const;

 private:
  struct LayerSlots {
    Eigen::Index in = 0, out = 0;
    std::size_t weight_offset = 0;  // into parameters_/gradients_ (of the mirrored layer if tied)
    std::size_t bias_offset = 0;
    bool tied = false;
  };
  // Layer views into either flat buffer (parameters_ or gradients_).
  MatrixMap weight_view(T* buffer, std::size_t layer);
  VectorMap bias_view(T* buffer, std::size_t layer);
  void layer_forward(std::size_t layer);
  void keep_top_k(Matrix& code);

  Architecture architecture_;
  Objective objective_;
  Precision precision_ = Precision::kFp32;
  std::vector<LayerSlots> slots_;
  std::vector<T> parameters_;
  T* parameter_data_ = nullptr;  // parameters_.data() or the storage given to train with
  std::vector<T> gradients_;
  std::vector<Matrix> activations_;  // a_0 = input, a_l = output of layer l-1
  Matrix top_k_mask_;                // 1 where a code unit was kept (topk only)
  Matrix clean_code_;                // the code before code noise was added
  bool noisy_code_ = false;          // the last forward() added code noise
  // Backpropagation scratch, reused across steps: deltas_[l] is dLoss/d(pre-activation) of
  // layer l, [out_l, batch]. One per layer, so no step reallocates (each shape stays put).
  std::vector<Matrix> deltas_;
};

extern template class Autoencoder<float>;
extern template class Autoencoder<double>;

}  // namespace aepipe::nn
