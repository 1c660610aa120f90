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

}  // namespace aepipe::nn
