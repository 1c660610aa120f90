#pragma once
// Architecture strings, parsed in one place (STYLE 3):
//   "784-1000-500-250-30"         encoder sizes, input first, code last; decoder mirrored
//   "784-1000:tanh-500-30:relu"   a ":activation" suffix overrides one layer's activation
//   "pca:30"                      closed-form PCA with a 30-dimensional code
// Encoder layers use the hidden activation, the code layer the code activation, decoder
// layers the activation of the encoder layer of the same size, the last one the output
// activation.
#include <Eigen/Core>
#include <string>
#include <vector>

#include "nn/activation.hpp"

namespace aepipe::nn {

struct Architecture {
  bool pca = false;
  std::vector<Eigen::Index> sizes;  // [input, hidden..., code]; pca: {0, code}
  std::vector<Activation> encoder;  // activation of encoder layer i (produces sizes[i+1])
  std::vector<Activation> decoder;  // activation of decoder layer i (produces sizes[n-2-i])
  bool tied = false;

  Eigen::Index input_size() const { return sizes.front(); }
  Eigen::Index code_size() const { return sizes.back(); }
  std::size_t encoder_layers() const { return sizes.size() - 1; }
  // The canonical spec, with every activation spelled out.
  std::string describe() const;
};

struct ActivationDefaults {
  Activation hidden = Activation::kRelu;
  Activation code = Activation::kLinear;
  Activation output = Activation::kSigmoid;
};

// Throws UsageError quoting `spec` and saying what is wrong.
Architecture parse_architecture(const std::string& spec, const ActivationDefaults& defaults,
                                bool tied);

}  // namespace aepipe::nn
