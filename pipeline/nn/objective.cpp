#include "nn/objective.hpp"

#include "util/error.hpp"

namespace aepipe::nn {

Loss parse_loss(const std::string& text) {
  if (text == "mse") return Loss::kMse;
  if (text == "xent") return Loss::kCrossEntropy;
  throw UsageError(cat("unknown loss '", text, "' (use mse or xent)"));
}

Sparsity parse_sparsity(const std::string& text) {
  if (text == "none") return Sparsity::kNone;
  if (text == "kl") return Sparsity::kKl;
  if (text == "l1") return Sparsity::kL1;
  if (text == "topk") return Sparsity::kTopK;
  throw UsageError(cat("unknown sparsity '", text, "' (use none, kl, l1 or topk)"));
}

std::string to_string(Loss loss) {
  return loss == Loss::kMse ? "mse" : "xent";
}

std::string to_string(Sparsity sparsity) {
  switch (sparsity) {
    case Sparsity::kNone:
      return "none";
    case Sparsity::kKl:
      return "kl";
    case Sparsity::kL1:
      return "l1";
    case Sparsity::kTopK:
      return "topk";
  }
  return "?";
}

}  // namespace aepipe::nn
