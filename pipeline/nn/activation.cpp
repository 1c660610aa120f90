#include "nn/activation.hpp"

#include "util/error.hpp"
#include "util/vector_clones.hpp"

namespace aepipe::nn {
namespace {

AEPIPE_VECTOR_CLONES
void add_bias_column(float* __restrict values, const float* __restrict bias, Eigen::Index n) {
#pragma omp simd
  for (Eigen::Index i = 0; i < n; ++i) values[i] += bias[i];
}

AEPIPE_VECTOR_CLONES
void add_bias_relu_column(float* __restrict values, const float* __restrict bias, Eigen::Index n) {
#pragma omp simd
  for (Eigen::Index i = 0; i < n; ++i) {
    const float z = values[i] + bias[i];
    values[i] = z < 0.0f ? 0.0f : z;  // std::max(z, 0): Eigen's max, NaN and -0 kept
  }
}

AEPIPE_VECTOR_CLONES
void relu_derivative_column(const float* __restrict a, float* __restrict gradient, Eigen::Index n) {
#pragma omp simd
  for (Eigen::Index i = 0; i < n; ++i) gradient[i] = a[i] > 0.0f ? gradient[i] : 0.0f;
}

}  // namespace

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

void add_bias_block(Activation activation, const float* bias, float* values, Eigen::Index stride,
                    Eigen::Index rows, Eigen::Index cols) {
  for (Eigen::Index j = 0; j < cols; ++j) {
    if (activation == Activation::kRelu)
      add_bias_relu_column(values + j * stride, bias, rows);
    else
      add_bias_column(values + j * stride, bias, rows);
  }
}

void relu_derivative_block(const float* a, Eigen::Index a_stride, float* gradient,
                           Eigen::Index gradient_stride, Eigen::Index rows, Eigen::Index cols) {
  for (Eigen::Index j = 0; j < cols; ++j)
    relu_derivative_column(a + j * a_stride, gradient + j * gradient_stride, rows);
}

template void activate<float>(Activation, Eigen::MatrixXf&);
template void activate<double>(Activation, Eigen::MatrixXd&);
template void multiply_by_derivative<float>(Activation, const Eigen::MatrixXf&, Eigen::MatrixXf&);
template void multiply_by_derivative<double>(Activation, const Eigen::MatrixXd&, Eigen::MatrixXd&);

}  // namespace aepipe::nn
