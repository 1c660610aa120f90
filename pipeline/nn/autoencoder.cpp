#include "nn/autoencoder.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <type_traits>

#include "nn/activation.hpp"
#include "nn/gemm.hpp"
#include "util/error.hpp"

namespace aepipe::nn {
namespace {

// out = the sum of m's columns, added column after column: the same order for every element
// whatever out's alignment. (Eigen's rowwise().sum() adds the elements before and after its
// aligned middle in another order, so a bias gradient's bits depended on where it was
// written, and a gradient written into another buffer than one rank uses came out different.)
template <class T, class Out>
void sum_columns(const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& m, Out&& out) {
  if (m.cols() == 0) {
    out.setZero();
    return;
  }
  out = m.col(0);
  for (Eigen::Index j = 1; j < m.cols(); ++j) out += m.col(j);
}

}  // namespace

template <class T>
Autoencoder<T>::Autoencoder(const Architecture& architecture, const Objective& objective)
    : architecture_(architecture) {
  if (architecture.pca || architecture.sizes.size() < 2)
    throw Error("internal: an Autoencoder needs layer sizes (PCA is built elsewhere)");
  const std::size_t encoder_layers = architecture.encoder_layers();
  std::size_t offset = 0;
  // Encoder layers, then decoder layers (mirrored sizes).
  for (std::size_t l = 0; l < 2 * encoder_layers; ++l) {
    LayerSlots slot;
    const bool decoder = l >= encoder_layers;
    const std::size_t mirrored = 2 * encoder_layers - 1 - l;  // encoder layer of a decoder layer
    slot.in = decoder ? architecture.sizes[mirrored + 1] : architecture.sizes[l];
    slot.out = decoder ? architecture.sizes[mirrored] : architecture.sizes[l + 1];
    slot.tied = decoder && architecture.tied;
    if (slot.tied) {
      slot.weight_offset = slots_[mirrored].weight_offset;
    } else {
      slot.weight_offset = offset;
      offset += static_cast<std::size_t>(slot.in * slot.out);
    }
    slot.bias_offset = offset;
    offset += static_cast<std::size_t>(slot.out);
    slots_.push_back(slot);
  }
  parameters_.assign(offset, T(0));
  parameter_data_ = parameters_.data();
  gradients_.assign(offset, T(0));
  activations_.resize(2 * encoder_layers + 1);
  deltas_.resize(2 * encoder_layers);
  set_objective(objective);
}

template <class T>
void Autoencoder<T>::set_objective(const Objective& objective) {
  if (objective.loss == Loss::kCrossEntropy && architecture_.decoder.back() != Activation::kSigmoid)
    throw UsageError("--loss xent needs a sigmoid output activation (--output-activation sigmoid)");
  if (objective.sparsity == Sparsity::kKl && architecture_.encoder.back() != Activation::kSigmoid)
    throw UsageError("--sparsity kl needs a sigmoid code activation (--code-activation sigmoid)");
  if (objective.sparsity == Sparsity::kKl && !(objective.rho > 0 && objective.rho < 1))
    throw UsageError(cat("--rho must lie in (0, 1), got ", objective.rho));
  if (objective.sparsity == Sparsity::kTopK &&
      (objective.k < 1 || objective.k > architecture_.code_size()))
    throw UsageError(cat("--k must lie in 1..", architecture_.code_size(), " (the code size), got ",
                         objective.k));
  if (objective.beta < 0 || objective.weight_decay < 0)
    throw UsageError("--beta and --weight-decay must be >= 0");
  objective_ = objective;
}

template <class T>
bool Autoencoder<T>::tied(std::size_t layer) const {
  return slots_.at(layer).tied;
}

template <class T>
Activation Autoencoder<T>::activation(std::size_t layer) const {
  const std::size_t encoder_layers = architecture_.encoder_layers();
  return layer < encoder_layers ? architecture_.encoder[layer]
                                : architecture_.decoder[layer - encoder_layers];
}

template <class T>
typename Autoencoder<T>::MatrixMap Autoencoder<T>::weight_view(T* buffer, std::size_t layer) {
  const auto& slot = slots_.at(layer);
  // A tied layer's stored weight has its mirrored encoder's shape [in, out].
  return slot.tied ? MatrixMap(buffer + slot.weight_offset, slot.in, slot.out)
                   : MatrixMap(buffer + slot.weight_offset, slot.out, slot.in);
}

template <class T>
void Autoencoder<T>::set_precision(Precision precision) {
  if (precision == Precision::kBf16 && !std::is_same_v<T, float>)
    throw Error("internal: bf16 products need a float network");
  precision_ = precision;
}

template <class T>
typename Autoencoder<T>::VectorMap Autoencoder<T>::bias_view(T* buffer, std::size_t layer) {
  const auto& slot = slots_.at(layer);
  return VectorMap(buffer + slot.bias_offset, slot.out);
}

template <class T>
void Autoencoder<T>::initialize(std::uint64_t seed) {
  std::mt19937_64 generator(seed);
  // Uniform in [-1, 1) from raw 64-bit draws: identical on every platform and rank.
  const auto uniform = [&] {
    return static_cast<T>(static_cast<double>(generator() >> 11) * 0x1.0p-52 - 1.0);
  };
  std::fill(parameters().begin(), parameters().end(), T(0));
  for (std::size_t l = 0; l < layer_count(); ++l) {
    if (slots_[l].tied) continue;
    const auto& slot = slots_[l];
    const double fan = activation(l) == Activation::kRelu
                           ? static_cast<double>(slot.in) / 2.0
                           : static_cast<double>(slot.in + slot.out) / 2.0;
    const T limit = static_cast<T>(std::sqrt(3.0 / fan));
    for (auto& value : weight(l).reshaped()) value = limit * uniform();
  }
}

template <class T>
void Autoencoder<T>::layer_forward(std::size_t layer) {
  const auto& slot = slots_[layer];
  const Matrix& in = activations_[layer];
  Matrix& out = activations_[layer + 1];
  out.resize(slot.out, in.cols());
  MatrixMap w = weight(layer);
  const Transpose transpose = slot.tied ? Transpose::kYes : Transpose::kNo;
  const Activation f = activation(layer);
  if constexpr (std::is_same_v<T, float>) {
    // The bias (and a relu) go onto each block of the product while it is in cache: one
    // pass over the layer's output less, the same bits.
    const float* b = bias(layer).data();
    float* values = out.data();
    const Eigen::Index stride = out.rows();
    const TileEpilogue add_bias = [&](Eigen::Index row, Eigen::Index col, Eigen::Index rows,
                                      Eigen::Index cols) {
      add_bias_block(f, b + row, values + row + col * stride, stride, rows, cols);
    };
    gemm<T>(T(1), w, transpose, in, Transpose::kNo, T(0), out, &add_bias, precision_);
    if (f != Activation::kRelu) activate<T>(f, out);
  } else {
    gemm<T>(T(1), w, transpose, in, Transpose::kNo, T(0), out);
    out.colwise() += bias(layer);
    activate<T>(f, out);
  }
}

template <class T>
void Autoencoder<T>::keep_top_k(Matrix& code) {
  const Eigen::Index k = objective_.k;
  top_k_mask_.setZero(code.rows(), code.cols());
  std::vector<Eigen::Index> order(static_cast<std::size_t>(code.rows()));
  for (Eigen::Index column = 0; column < code.cols(); ++column) {
    std::iota(order.begin(), order.end(), 0);
    // Ties broken by unit index so the kept set is deterministic.
    std::nth_element(order.begin(), order.begin() + (k - 1), order.end(),
                     [&](Eigen::Index a, Eigen::Index b) {
                       const T va = code(a, column), vb = code(b, column);
                       return va > vb || (va == vb && a < b);
                     });
    for (Eigen::Index i = 0; i < k; ++i)
      top_k_mask_(order[static_cast<std::size_t>(i)], column) = T(1);
  }
  code.array() *= top_k_mask_.array();
}

template <class T>
const typename Autoencoder<T>::Matrix& Autoencoder<T>::encode(const Matrix& input) {
  if (input.rows() != architecture_.input_size())
    throw Error(cat("internal: input of ", input.rows(), " values for a network taking ",
                    architecture_.input_size()));
  activations_[0] = input;
  for (std::size_t l = 0; l < architecture_.encoder_layers(); ++l) layer_forward(l);
  if (objective_.sparsity == Sparsity::kTopK)
    keep_top_k(activations_[architecture_.encoder_layers()]);
  return code();
}

template <class T>
const typename Autoencoder<T>::Matrix& Autoencoder<T>::decode(const Matrix& code) {
  noisy_code_ = false;
  if (code.rows() != architecture_.code_size())
    throw Error(cat("internal: code of ", code.rows(), " values for a network with a code of ",
                    architecture_.code_size()));
  activations_[architecture_.encoder_layers()] = code;
  for (std::size_t l = architecture_.encoder_layers(); l < layer_count(); ++l) layer_forward(l);
  return output();
}

template <class T>
const typename Autoencoder<T>::Matrix& Autoencoder<T>::forward(const Matrix& input,
                                                               const Matrix* code_noise) {
  encode(input);
  noisy_code_ = code_noise != nullptr;
  if (noisy_code_) {
    Matrix& code = activations_[architecture_.encoder_layers()];
    if (code_noise->rows() != code.rows() || code_noise->cols() != code.cols())
      throw Error("internal: code noise of another shape than the code");
    clean_code_ = code;
    code += *code_noise;
  }
  for (std::size_t l = architecture_.encoder_layers(); l < layer_count(); ++l) layer_forward(l);
  return output();
}

template <class T>
T Autoencoder<T>::backward(const Matrix& target, Eigen::Index global_batch, const Vector* rho_hat,
                           std::span<T> gradient) {
  if (gradient.empty()) gradient = gradients_;
  if (gradient.size() != gradients_.size())
    throw Error(cat("internal: a gradient of ", gradient.size(), " values for ", gradients_.size(),
                    " parameters"));
  const T scale = T(1) / static_cast<T>(global_batch);
  const Matrix& reconstruction = output();
  T loss = 0;
  Matrix& last_delta = deltas_.back();
  last_delta = reconstruction - target;
  if (objective_.loss == Loss::kMse) {
    loss = T(0.5) * last_delta.squaredNorm();
    multiply_by_derivative<T>(activation(layer_count() - 1), reconstruction, last_delta);
  } else {
    // Sigmoid output and cross-entropy: dLoss/dz = x^ - x (the delta as it is).
    constexpr T kFloor = std::is_same_v<T, float> ? T(1e-7) : T(1e-15);
    const auto x = target.array();
    const auto y = reconstruction.array().max(kFloor).min(T(1) - kFloor);
    loss = -(x * y.log() + (T(1) - x) * (T(1) - y).log()).sum();
  }
  last_delta *= scale;

  const std::size_t code_layer = architecture_.encoder_layers();  // activations_[code_layer]
  // Every gradient is written whole below (no zero fill: 11 MB per micro-batch for the deep
  // Fashion model). Layers run backwards, so a tied weight is first written by its decoder
  // layer (beta = 0) and then collected into by its encoder layer (beta = 1).
  for (std::size_t l = layer_count(); l-- > 0;) {
    const auto& slot = slots_[l];
    const Matrix& in = activations_[l];
    const Matrix& delta = deltas_[l];
    sum_columns<T>(delta, bias_view(gradient.data(), l));
    MatrixMap weight_grad = weight_view(gradient.data(), l);
    const bool collects = l < architecture_.encoder_layers() && architecture_.tied;
    if (slot.tied)
      gemm<T>(T(1), in, Transpose::kNo, delta, Transpose::kYes, T(0), weight_grad, nullptr,
              precision_);
    else
      gemm<T>(T(1), delta, Transpose::kNo, in, Transpose::kYes, collects ? T(1) : T(0), weight_grad,
              nullptr, precision_);
    if (l == 0) break;

    Matrix& next_delta = deltas_[l - 1];
    next_delta.resize(slot.in, delta.cols());
    MatrixMap w = weight(l);
    // The decoder saw the noisy code (the weight gradient above); the encoder made the clean one.
    const Matrix& layer_input = l == code_layer && noisy_code_ ? clean_code_ : in;
    // A relu derivative goes onto each block of the product while it is in cache (the same
    // bits as the pass below), unless the code layer's sparsity terms must come first.
    const bool fused = std::is_same_v<T, float> && activation(l - 1) == Activation::kRelu &&
                       (l != code_layer || objective_.sparsity == Sparsity::kNone);
    const TileEpilogue relu_derivative = [&](Eigen::Index row, Eigen::Index col, Eigen::Index rows,
                                             Eigen::Index cols) {
      if constexpr (std::is_same_v<T, float>)
        relu_derivative_block(layer_input.data() + row + col * layer_input.rows(),
                              layer_input.rows(), next_delta.data() + row + col * next_delta.rows(),
                              next_delta.rows(), rows, cols);
    };
    gemm<T>(T(1), w, slot.tied ? Transpose::kNo : Transpose::kYes, delta, Transpose::kNo, T(0),
            next_delta, fused ? &relu_derivative : nullptr, precision_);
    if (l == code_layer) {
      const Matrix& code_activation = layer_input;
      const T beta = static_cast<T>(objective_.beta);
      switch (objective_.sparsity) {
        case Sparsity::kKl: {
          if (rho_hat == nullptr) throw Error("internal: kl sparsity without the mean activation");
          const T rho = static_cast<T>(objective_.rho);
          const Vector clamped = rho_hat->array().max(T(1e-6)).min(T(1) - T(1e-6));
          const Vector term =
              beta * scale * (-rho / clamped.array() + (T(1) - rho) / (T(1) - clamped.array()));
          next_delta.colwise() += term;
          break;
        }
        case Sparsity::kL1:
          loss += beta * code_activation.cwiseAbs().sum();
          next_delta += (beta * scale) * code_activation.cwiseSign();
          break;
        case Sparsity::kTopK:
          next_delta.array() *= top_k_mask_.array();
          break;
        case Sparsity::kNone:
          break;
      }
    }
    if (!fused) multiply_by_derivative<T>(activation(l - 1), layer_input, next_delta);
  }
  return loss * scale;
}

template <class T>
T Autoencoder<T>::kl_penalty(const Vector& rho_hat) const {
  if (objective_.sparsity != Sparsity::kKl) return T(0);
  const T rho = static_cast<T>(objective_.rho);
  const auto r = rho_hat.array().max(T(1e-6)).min(T(1) - T(1e-6));
  return static_cast<T>(objective_.beta) *
         (rho * (rho / r).log() + (T(1) - rho) * ((T(1) - rho) / (T(1) - r)).log()).sum();
}

template <class T>
T Autoencoder<T>::weight_decay_penalty() const {
  if (objective_.weight_decay == 0) return T(0);
  T sum = 0;
  for (std::size_t l = 0; l < layer_count(); ++l) {
    if (slots_[l].tied) continue;
    const auto& slot = slots_[l];
    Eigen::Map<const Vector> w(parameter_data_ + slot.weight_offset, slot.in * slot.out);
    sum += w.squaredNorm();
  }
  return static_cast<T>(objective_.weight_decay) / 2 * sum;
}

template <class T>
void Autoencoder<T>::add_weight_decay(std::size_t begin, std::size_t end) {
  if (objective_.weight_decay == 0) return;
  const T lambda = static_cast<T>(objective_.weight_decay);
  for (std::size_t l = 0; l < layer_count(); ++l) {
    if (slots_[l].tied) continue;
    const auto& slot = slots_[l];
    // This weight's elements within [begin, end).
    const std::size_t first = std::max(begin, slot.weight_offset);
    const std::size_t last =
        std::min(end, slot.weight_offset + static_cast<std::size_t>(slot.in * slot.out));
    if (first >= last) continue;
    const auto count = static_cast<Eigen::Index>(last - first);
    Eigen::Map<const Vector> w(parameter_data_ + first, count);
    VectorMap g(gradients_.data() + first, count);
    g += lambda * w;
  }
}

template <class T>
void Autoencoder<T>::use_parameter_storage(std::span<T> storage) {
  if (storage.size() != parameters_.size())
    throw Error(cat("internal: parameter storage of ", storage.size(), " elements for ",
                    parameters_.size(), " parameters"));
  parameter_data_ = storage.data();
}

template <class T>
void Autoencoder<T>::use_own_parameters() {
  if (parameter_data_ == parameters_.data()) return;
  std::copy(parameter_data_, parameter_data_ + parameters_.size(), parameters_.begin());
  parameter_data_ = parameters_.data();
}

template class Autoencoder<float>;
template class Autoencoder<double>;

}  // namespace aepipe::nn
