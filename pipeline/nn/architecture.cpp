#include "nn/architecture.hpp"

#include <charconv>

#include "util/error.hpp"

namespace aepipe::nn {
namespace {

Eigen::Index parse_size(const std::string& text, const std::string& spec) {
  Eigen::Index value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (result.ec != std::errc() || result.ptr != text.data() + text.size() || value < 1 ||
      value > (Eigen::Index{1} << 24))
    throw UsageError(
        cat("invalid architecture '", spec, "': '", text, "' is not a layer size (1 to 16777216)"));
  return value;
}

}  // namespace

std::string Architecture::describe() const {
  if (pca) return cat("pca:", code_size());
  std::string text = std::to_string(sizes[0]);
  for (size_t i = 1; i < sizes.size(); ++i)
    text += cat("-", sizes[i], ":", to_string(encoder[i - 1]));
  return text + cat(" (output ", to_string(decoder.back()), tied ? ", tied)" : ")");
}

Architecture parse_architecture(const std::string& spec, const ActivationDefaults& defaults,
                                bool tied) {
  Architecture architecture;
  architecture.tied = tied;
  if (spec.rfind("pca:", 0) == 0) {
    architecture.pca = true;
    architecture.sizes = {0, parse_size(spec.substr(4), spec)};
    architecture.encoder = {Activation::kLinear};
    architecture.decoder = {Activation::kLinear};
    return architecture;
  }
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t dash = spec.find('-', start);
    parts.push_back(spec.substr(start, dash - start));
    if (dash == std::string::npos) break;
    start = dash + 1;
  }
  if (parts.size() < 2)
    throw UsageError(cat("invalid architecture '", spec,
                         "': give at least an input and a code size, like 784-30, or pca:30"));
  std::vector<std::string> overrides;
  for (const auto& part : parts) {
    const size_t colon = part.find(':');
    architecture.sizes.push_back(parse_size(part.substr(0, colon), spec));
    overrides.push_back(colon == std::string::npos ? "" : part.substr(colon + 1));
  }
  if (!overrides.front().empty())
    throw UsageError(cat("invalid architecture '", spec, "': the input layer has no activation"));
  const size_t layers = architecture.sizes.size() - 1;
  for (size_t i = 1; i <= layers; ++i) {
    Activation activation = i == layers ? defaults.code : defaults.hidden;
    if (!overrides[i].empty()) activation = parse_activation(overrides[i]);
    architecture.encoder.push_back(activation);
  }
  // Decoder layer i produces sizes[layers-1-i]: mirror the encoder layer producing that size.
  for (size_t i = 0; i < layers; ++i) {
    const size_t produces = layers - 1 - i;
    architecture.decoder.push_back(produces == 0 ? defaults.output
                                                 : architecture.encoder[produces - 1]);
  }
  return architecture;
}

}  // namespace aepipe::nn
