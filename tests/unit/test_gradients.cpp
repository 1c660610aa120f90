// Finite-difference gradient checks in double precision of every layer type, activation,
// loss and regulariser: relative difference ||g_num - g|| / ||g_num + g|| < 1e-9.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "nn/autoencoder.hpp"

namespace aepipe::nn {
namespace {

using Net = Autoencoder<double>;

Eigen::MatrixXd random_batch(Eigen::Index rows, Eigen::Index cols, unsigned seed) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<double> uniform(0.1, 0.9);
  Eigen::MatrixXd batch(rows, cols);
  for (auto& value : batch.reshaped()) value = uniform(generator);
  return batch;
}

// The whole objective on one batch held by one process: data terms + KL + weight decay.
double objective_value(Net& net, const Eigen::MatrixXd& input, const Eigen::MatrixXd& target,
                       const Eigen::MatrixXd* code_noise = nullptr) {
  net.forward(input, code_noise);
  const Eigen::VectorXd rho_hat = net.code_sum() / static_cast<double>(input.cols());
  return net.backward(target, input.cols(), &rho_hat) + net.kl_penalty(rho_hat) +
         net.weight_decay_penalty();
}

double relative_gradient_error(Net& net, const Eigen::MatrixXd& input,
                               const Eigen::MatrixXd& target,
                               const Eigen::MatrixXd* code_noise = nullptr) {
  net.forward(input, code_noise);
  const Eigen::VectorXd rho_hat = net.code_sum() / static_cast<double>(input.cols());
  net.backward(target, input.cols(), &rho_hat);
  net.add_weight_decay();
  const auto analytic_span = net.gradients();
  const Eigen::VectorXd analytic = Eigen::Map<const Eigen::VectorXd>(
      analytic_span.data(), static_cast<Eigen::Index>(analytic_span.size()));
  Eigen::VectorXd numeric(analytic.size());
  auto parameters = net.parameters();
  const double step = 1e-5;
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const double saved = parameters[i];
    parameters[i] = saved + step;
    const double plus = objective_value(net, input, target, code_noise);
    parameters[i] = saved - step;
    const double minus = objective_value(net, input, target, code_noise);
    parameters[i] = saved;
    numeric(static_cast<Eigen::Index>(i)) = (plus - minus) / (2 * step);
  }
  return (numeric - analytic).norm() / (numeric + analytic).norm();
}

struct Case {
  const char* name;
  std::string arch;
  Activation hidden, code, output;
  bool tied;
  Objective objective;
};

std::vector<Case> cases() {
  Objective mse;
  Objective xent;
  xent.loss = Loss::kCrossEntropy;
  Objective kl;
  kl.sparsity = Sparsity::kKl;
  kl.rho = 0.1;
  kl.beta = 3.0;
  kl.weight_decay = 1e-2;
  Objective l1;
  l1.sparsity = Sparsity::kL1;
  l1.beta = 0.3;
  Objective topk;
  topk.sparsity = Sparsity::kTopK;
  topk.k = 2;
  Objective decay;
  decay.weight_decay = 0.05;
  using A = Activation;
  return {
      {"sigmoid_mse", "7-5-3", A::kSigmoid, A::kSigmoid, A::kSigmoid, false, mse},
      {"tanh_mse", "7-5-3", A::kTanh, A::kTanh, A::kLinear, false, mse},
      {"relu_linear_code", "7-6-4-3", A::kRelu, A::kLinear, A::kSigmoid, false, mse},
      {"linear", "7-3", A::kLinear, A::kLinear, A::kLinear, false, mse},
      {"xent", "7-5-3", A::kRelu, A::kLinear, A::kSigmoid, false, xent},
      {"tied_sigmoid", "7-5-3", A::kSigmoid, A::kSigmoid, A::kSigmoid, true, mse},
      {"tied_xent_decay", "7-5", A::kTanh, A::kTanh, A::kSigmoid, true,
       [&] {
         Objective o = xent;
         o.weight_decay = 0.1;
         return o;
       }()},
      {"kl_sparse_with_decay", "7-5", A::kSigmoid, A::kSigmoid, A::kSigmoid, false, kl},
      {"kl_deep_tied", "7-6-4", A::kTanh, A::kSigmoid, A::kLinear, true, kl},
      {"l1", "7-6-4", A::kRelu, A::kRelu, A::kSigmoid, false, l1},
      {"topk", "7-6-5", A::kTanh, A::kLinear, A::kSigmoid, false, topk},
      {"weight_decay", "7-6-4", A::kSigmoid, A::kLinear, A::kLinear, false, decay},
  };
}

class GradientCheck : public ::testing::TestWithParam<Case> {};

TEST_P(GradientCheck, AnalyticMatchesFiniteDifferences) {
  const Case& c = GetParam();
  const Architecture architecture =
      parse_architecture(c.arch, {c.hidden, c.code, c.output}, c.tied);
  Net net(architecture, c.objective);
  net.initialize(42);
  // Non-zero biases so every term is exercised.
  auto parameters = net.parameters();
  for (std::size_t i = 0; i < parameters.size(); ++i)
    if (parameters[i] == 0) parameters[i] = 0.01 * static_cast<double>(i % 7) - 0.03;
  const Eigen::MatrixXd input = random_batch(7, 6, 1);
  const Eigen::MatrixXd target = c.objective.loss == Loss::kMse ? random_batch(7, 6, 2) : input;
  EXPECT_LT(relative_gradient_error(net, input, target), 1e-9) << c.name;
}

INSTANTIATE_TEST_SUITE_P(EveryTerm, GradientCheck, ::testing::ValuesIn(cases()),
                         [](const auto& test_info) { return std::string(test_info.param.name); });

TEST(Autoencoder, TopKKeepsExactlyKUnitsPerSample) {
  Objective topk;
  topk.sparsity = Sparsity::kTopK;
  topk.k = 3;
  Net net(parse_architecture("8-10", {}, false), topk);
  net.initialize(3);
  const auto& code = net.encode(random_batch(8, 5, 4));
  for (Eigen::Index c = 0; c < code.cols(); ++c) EXPECT_LE((code.col(c).array() != 0).count(), 3);
}

TEST(Autoencoder, TiedDecoderSharesTheEncoderWeight) {
  Net untied(parse_architecture("10-4", {}, false), {});
  Net tied(parse_architecture("10-4", {}, true), {});
  EXPECT_EQ(untied.parameters().size(), 10u * 4 + 4 + 4 * 10 + 10);
  EXPECT_EQ(tied.parameters().size(), 10u * 4 + 4 + 10);
}

// Quantisation-aware training: the decoder sees code + noise, the gradient passes straight
// through the noise, and the KL term and the sigmoid's derivative use the clean code.
TEST(Gradients, CodeNoiseIsPassedStraightThrough) {
  for (bool tied : {false, true}) {
    Objective objective;
    objective.sparsity = Sparsity::kKl;
    objective.rho = 0.2;
    objective.beta = 0.5;
    Net net(parse_architecture(
                "6-5-3", {Activation::kTanh, Activation::kSigmoid, Activation::kSigmoid}, tied),
            objective);
    net.initialize(7);
    const Eigen::MatrixXd input = random_batch(6, 4, 3);
    const Eigen::MatrixXd noise = (random_batch(3, 4, 5).array() - 0.5) * 0.2;
    EXPECT_LT(relative_gradient_error(net, input, input, &noise), 1e-9) << "tied " << tied;
    // The noise really reaches the output, and code() stays the clean code.
    const Eigen::MatrixXd clean_output = net.forward(input);
    const Eigen::MatrixXd clean_code = net.code();
    const Eigen::MatrixXd noisy_output = net.forward(input, &noise);
    EXPECT_GT((noisy_output - clean_output).norm(), 1e-3);
    EXPECT_EQ((net.code() - clean_code).norm(), 0.0);
  }
}

// The trainer writes each micro-batch's gradient into buffers of its own (the exact sum's
// slots, a second piece's buffer): a gradient must have the same bits wherever it is
// written, or ranks that write into other buffers than one rank does drift apart.
TEST(Gradients, BitsDoNotDependOnTheBuffersAlignment) {
  for (bool tied : {false, true}) {
    Autoencoder<float> net(parse_architecture("61-37-9", {}, tied), {});
    net.initialize(5);
    const Eigen::MatrixXf input = random_batch(61, 23, 8).cast<float>();
    net.forward(input);
    net.backward(input, 40, nullptr);
    const std::vector<float> reference(net.gradients().begin(), net.gradients().end());
    for (std::size_t offset = 1; offset < 16; ++offset) {
      std::vector<float> buffer(reference.size() + 16, -1.0f);
      const std::span<float> gradient(buffer.data() + offset, reference.size());
      net.forward(input);
      net.backward(input, 40, nullptr, gradient);
      for (std::size_t i = 0; i < reference.size(); ++i)
        ASSERT_EQ(std::bit_cast<std::uint32_t>(gradient[i]),
                  std::bit_cast<std::uint32_t>(reference[i]))
            << "tied " << tied << ", " << offset << " floats in, element " << i;
    }
  }
}

}  // namespace
}  // namespace aepipe::nn
