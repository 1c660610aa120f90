#pragma once
// The baseline a model is compared with: PCA with the model's code size, fitted on pixels / 255
// (as `train --arch pca:K` does by default) of the data the model was trained on. Shared by
// `aepipe evaluate` and `aepipe report`.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mpi/communicator.hpp"
#include "nn/model_file.hpp"
#include "nn/normalisation.hpp"
#include "nn/pca.hpp"

namespace aepipe::stages {

struct PcaBaseline {
  nn::PcaFit fit;
  nn::Normalisation normalisation;  // the identity on pixels / 255, [D]
  std::string source;               // the data file it was fitted on
  bool in_sample = false;           // fitted on `fallback` because the training data is gone
};

// The data file a model was trained on: the `input = ...` line of its stored config ("" if
// none).
std::string training_input(const std::string& config);

// Collective. Fits PCA on `baseline_data` (which must be a readable data file), or ("" given)
// on the model's training data, or on `fallback` (the evaluated data: an optimistic,
// in-sample baseline) when that file is gone. `components` 0 takes the model's code size.
PcaBaseline fit_pca_baseline(const nn::LoadedModel& model, const std::string& baseline_data,
                             const std::string& fallback, std::uint64_t seed,
                             const mpi::Communicator& comm, Eigen::Index components = 0);

// Baselines fitted once per run and shared: the report fits the same PCA for its
// reconstructions and for its codec chart, and a 60,000-image fit takes seconds. Fits of the
// same data file with the same component count and seed are the same fit (and the same
// fallback, if the data file was gone).
class PcaBaselineCache {
 public:
  // Collective, as fit_pca_baseline; the result lives as long as the cache.
  PcaBaseline& fit(const nn::LoadedModel& model, const std::string& baseline_data,
                   const std::string& fallback, std::uint64_t seed, const mpi::Communicator& comm,
                   Eigen::Index components = 0);

 private:
  struct Entry {
    std::string data, fallback;
    Eigen::Index components = 0;
    std::uint64_t seed = 0;
    std::unique_ptr<PcaBaseline> baseline;
  };
  std::vector<Entry> fitted_;
};

}  // namespace aepipe::stages
