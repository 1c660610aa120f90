#pragma once
// Index specs, parsed in one place (as faiss's index_factory):
//   flat[:METRIC]          exact search
//   ivf:NLIST[:METRIC]     inverted lists over a k-means coarse quantiser of NLIST centroids
//   hash:BITS[:itq|:sign]  binary codes of BITS bits searched by Hamming distance; itq (the
//                          default) learns a rotation, sign is the plain-sign baseline
// METRIC is l2 (default, squared Euclidean), ip (inner product) or cosine.
#include <cstdint>
#include <string>

namespace aepipe::index {

enum class Kind { kFlat, kIvf, kHash };
enum class Metric { kL2, kInnerProduct, kCosine, kHamming };
enum class HashMethod { kItq, kSign };

struct IndexSpec {
  Kind kind = Kind::kFlat;
  Metric metric = Metric::kL2;
  std::int64_t nlist = 0;  // ivf only
  std::int64_t bits = 0;   // hash only
  HashMethod hash_method = HashMethod::kItq;
};

// Throws UsageError quoting `text` and the accepted forms.
IndexSpec parse_index_spec(const std::string& text);
// The canonical spec string (parse_index_spec(to_string(s)) == s).
std::string to_string(const IndexSpec& spec);

std::string to_string(Kind kind);
std::string to_string(Metric metric);
std::string to_string(HashMethod method);
// Inverses of the above; throw Error naming `where` (a file, a key) and the bad value.
Kind parse_kind(const std::string& text, const std::string& where);
Metric parse_metric(const std::string& text, const std::string& where);
HashMethod parse_hash_method(const std::string& text, const std::string& where);

// Similarities (inner product, cosine) rank descending; distances ascending.
inline bool is_similarity(Metric metric) {
  return metric == Metric::kInnerProduct || metric == Metric::kCosine;
}

inline bool operator==(const IndexSpec& a, const IndexSpec& b) {
  return a.kind == b.kind && a.metric == b.metric && a.nlist == b.nlist && a.bits == b.bits &&
         a.hash_method == b.hash_method;
}

}  // namespace aepipe::index
