#include "nn/activation.hpp"

#include "util/error.hpp"

namespace aepipe::nn {

Activation parse_activation(const std::string& text) {
  if (text == "sigmoid") return Activation::kSigmoid;
  if (text == "tanh") return Activation::kTanh;
  if (text == "relu") return Activation::kRelu;
  if (text == "linear") return Activation::kLinear;
  throw UsageError(cat("unknown activation '", text, "' (use sigmoid, tanh, relu or linear)"));
}

std::string to_string(Activation activation) {
  switch (activation) {
    case Activation::kSigmoid:
      return "sigmoid";
    case Activation::kTanh:
      return "tanh";
    case Activation::kRelu:
      return "relu";
    case Activation::kLinear:
      return "linear";
  }
  return "?";
}

template <class T>
void activate(Activation activation, Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& z) {
  auto values = z.array();
  switch (activation) {
    case Activation::kSigmoid:
      // 1/(1+exp(-z)) with z clamped so exp never overflows to inf (float: |z| < 88).
      values = T(1) / (T(1) + (-values.max(T(-80)).min(T(80))).exp());
      break;
    case Activation::kTanh:
      values = values.tanh();
      break;
    case Activation::kRelu:
      values = values.max(T(0));
      break;
    case Activation::kLinear:
      break;
  }
}

template <class T>
void multiply_by_derivative(Activation activation,
                            const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& a,
                            Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& gradient) {
  auto g = gradient.array();
  const auto out = a.array();
  switch (activation) {
    case Activation::kSigmoid:
      g *= out * (T(1) - out);
      break;
    case Activation::kTanh:
      g *= T(1) - out.square();
      break;
    case Activation::kRelu:
      g = (out > T(0)).select(g, T(0));
      break;
    case Activation::kLinear:
      break;
  }
}

template void activate<float>(Activation, Eigen::MatrixXf&);
template void activate<double>(Activation, Eigen::MatrixXd&);
template void multiply_by_derivative<float>(Activation, const Eigen::MatrixXf&, Eigen::MatrixXf&);
template void multiply_by_derivative<double>(Activation, const Eigen::MatrixXd&, Eigen::MatrixXd&);

}  // namespace aepipe::nn
