#include "index/spec.hpp"

#include <charconv>
#include <vector>

#include "util/error.hpp"

namespace aepipe::index {
namespace {

constexpr const char* kAccepted =
    "expected flat[:l2|ip|cosine], ivf:NLIST[:l2|ip|cosine] or hash:BITS[:itq|sign]";
constexpr std::int64_t kMaxNlist = std::int64_t{1} << 20;
constexpr std::int64_t kMaxBits = 4096;

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

[[noreturn]] void bad_spec(const std::string& text, const std::string& why) {
  throw UsageError(cat("bad index spec '", text, "': ", why, "; ", kAccepted));
}

std::int64_t parse_count(const std::string& text, const std::string& part, const char* what,
                         std::int64_t max) {
  std::int64_t value = 0;
  const char* end = part.data() + part.size();
  const auto [stop, error] = std::from_chars(part.data(), end, value);
  if (part.empty() || error != std::errc() || stop != end)
    bad_spec(text, cat(what, " '", part, "' is not a whole number"));
  if (value < 1 || value > max) bad_spec(text, cat(what, " ", value, " is not in [1, ", max, "]"));
  return value;
}

Metric parse_vector_metric(const std::string& text, const std::string& part) {
  if (part == "l2") return Metric::kL2;
  if (part == "ip") return Metric::kInnerProduct;
  if (part == "cosine") return Metric::kCosine;
  bad_spec(text, cat("unknown metric '", part, "'"));
}

}  // namespace

IndexSpec parse_index_spec(const std::string& text) {
  const auto parts = split(text, ':');
  IndexSpec spec;
  const std::string& kind = parts[0];
  if (kind == "flat") {
    if (parts.size() > 2) bad_spec(text, "too many fields");
    spec.kind = Kind::kFlat;
    if (parts.size() == 2) spec.metric = parse_vector_metric(text, parts[1]);
  } else if (kind == "ivf") {
    if (parts.size() < 2) bad_spec(text, "ivf needs the number of lists, as in ivf:256");
    if (parts.size() > 3) bad_spec(text, "too many fields");
    spec.kind = Kind::kIvf;
    spec.nlist = parse_count(text, parts[1], "the number of lists", kMaxNlist);
    if (parts.size() == 3) spec.metric = parse_vector_metric(text, parts[2]);
  } else if (kind == "hash") {
    if (parts.size() < 2) bad_spec(text, "hash needs the number of bits, as in hash:64");
    if (parts.size() > 3) bad_spec(text, "too many fields");
    spec.kind = Kind::kHash;
    spec.metric = Metric::kHamming;
    spec.bits = parse_count(text, parts[1], "the number of bits", kMaxBits);
    if (parts.size() == 3) {
      if (parts[2] == "itq")
        spec.hash_method = HashMethod::kItq;
      else if (parts[2] == "sign")
        spec.hash_method = HashMethod::kSign;
      else
        bad_spec(text, cat("unknown hash method '", parts[2], "'"));
    }
  } else {
    bad_spec(text, cat("unknown index type '", kind, "'"));
  }
  return spec;
}

std::string to_string(const IndexSpec& spec) {
  switch (spec.kind) {
    case Kind::kFlat:
      return cat("flat:", to_string(spec.metric));
    case Kind::kIvf:
      return cat("ivf:", spec.nlist, ":", to_string(spec.metric));
    case Kind::kHash:
      return cat("hash:", spec.bits, ":", to_string(spec.hash_method));
  }
  return "?";
}

std::string to_string(Kind kind) {
  switch (kind) {
    case Kind::kFlat:
      return "flat";
    case Kind::kIvf:
      return "ivf";
    case Kind::kHash:
      return "hash";
  }
  return "?";
}

std::string to_string(Metric metric) {
  switch (metric) {
    case Metric::kL2:
      return "l2";
    case Metric::kInnerProduct:
      return "ip";
    case Metric::kCosine:
      return "cosine";
    case Metric::kHamming:
      return "hamming";
  }
  return "?";
}

std::string to_string(HashMethod method) {
  return method == HashMethod::kItq ? "itq" : "sign";
}

Kind parse_kind(const std::string& text, const std::string& where) {
  for (Kind kind : {Kind::kFlat, Kind::kIvf, Kind::kHash})
    if (to_string(kind) == text) return kind;
  throw Error(cat(where, ": unknown index type '", text, "' (expected flat, ivf or hash)"));
}

Metric parse_metric(const std::string& text, const std::string& where) {
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct, Metric::kCosine, Metric::kHamming})
    if (to_string(metric) == text) return metric;
  throw Error(cat(where, ": unknown metric '", text, "' (expected l2, ip, cosine or hamming)"));
}

HashMethod parse_hash_method(const std::string& text, const std::string& where) {
  for (HashMethod method : {HashMethod::kItq, HashMethod::kSign})
    if (to_string(method) == text) return method;
  throw Error(cat(where, ": unknown hash method '", text, "' (expected itq or sign)"));
}

}  // namespace aepipe::index
