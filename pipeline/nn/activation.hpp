#pragma once
// Element-wise activations. Derivatives are taken from the activation's output a = f(z),
// which is all backpropagation keeps: sigmoid a(1-a), tanh 1-a^2, relu [a>0], linear 1.
#include <Eigen/Core>
#include <string>

namespace aepipe::nn {

enum class Activation { kSigmoid, kTanh, kRelu, kLinear };

// "sigmoid", "tanh", "relu", "linear"; throws UsageError quoting `text` otherwise.
Activation parse_activation(const std::string& text);
std::string to_string(Activation activation);

// a = f(z), in place. z: [units, batch].
template <class T>
void activate(Activation activation, Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& z);

// gradient *= f'(z) expressed through a = f(z). Both [units, batch].
template <class T>
void multiply_by_derivative(Activation activation,
                            const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& a,
                            Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& gradient);

// The same steps on one block of a column-major matrix (a gemm TileEpilogue's block), with
// the same bits as the whole-matrix forms above: `values` points at the block's first
// element, `stride` is the matrix's column stride, the block is rows x cols.
// z += bias (bias[0] belongs to the block's first row); then, for relu, z = max(z, 0) as
// Eigen's max does it (std::max: NaN and -0 kept). Other activations are left to activate():
// their vectorised and scalar paths may differ in the last bit, so an element's place must
// not choose between them.
void add_bias_block(Activation activation, const float* bias, float* values, Eigen::Index stride,
                    Eigen::Index rows, Eigen::Index cols);
// gradient = a > 0 ? gradient : 0 (the relu derivative), a and gradient blocks alike.
void relu_derivative_block(const float* a, Eigen::Index a_stride, float* gradient,
                           Eigen::Index gradient_stride, Eigen::Index rows, Eigen::Index cols);

}  // namespace aepipe::nn
