#pragma once
// What training minimises, per global batch of B samples x_i with reconstructions x^_i:
//   reconstruction  mse:  (1/B) sum_i 1/2 ||x^_i - x_i||^2
//                   xent: (1/B) sum_i -sum_p [x log x^ + (1-x) log(1-x^)]   (sigmoid output)
//   sparsity        kl:   beta * sum_j KL(rho || rho^_j), rho^ the mean code activation over
//                         the *global* batch (sigmoid code)
//                   l1:   beta * (1/B) sum_i ||code_i||_1
//                   topk: only the k largest code units of each sample are kept (k-sparse AE)
//   weight decay    lambda/2 * sum over weight matrices ||W||^2 (tied weights counted once)
#include <Eigen/Core>
#include <string>

namespace aepipe::nn {

enum class Loss { kMse, kCrossEntropy };
enum class Sparsity { kNone, kKl, kL1, kTopK };

Loss parse_loss(const std::string& text);
Sparsity parse_sparsity(const std::string& text);
std::string to_string(Loss loss);
std::string to_string(Sparsity sparsity);

struct Objective {
  Loss loss = Loss::kMse;
  Sparsity sparsity = Sparsity::kNone;
  double rho = 0.05;          // KL target mean activation
  double beta = 3.0;          // weight of the KL or L1 term
  Eigen::Index k = 0;         // top-k: code units kept per sample
  double weight_decay = 0.0;  // lambda
};

}  // namespace aepipe::nn
