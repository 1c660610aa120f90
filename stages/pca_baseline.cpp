#include "stages/pca_baseline.hpp"

#include <filesystem>

#include "data/data_file_reader.hpp"
#include "mpi/agreement.hpp"
#include "util/error.hpp"

namespace aepipe::stages {

std::string training_input(const std::string& config) {
  const std::string key = "input = ";
  const size_t at = config.find(key);
  if (at == std::string::npos) return "";
  const size_t end = config.find('\n', at);
  return config.substr(at + key.size(),
                       end == std::string::npos ? std::string::npos : end - at - key.size());
}

PcaBaseline fit_pca_baseline(const nn::LoadedModel& model, const std::string& baseline_data,
                             const std::string& fallback, std::uint64_t seed,
                             const mpi::Communicator& comm, Eigen::Index components) {
  PcaBaseline baseline;
  baseline.source = baseline_data.empty() ? training_input(model.info.config) : baseline_data;
  // A file given by name must be readable (the reader says why not); only the training data
  // the model merely remembers may have moved away.
  const bool usable = mpi::collectively(comm, [&] {
    return !baseline_data.empty() ||
           (!baseline.source.empty() && std::filesystem::exists(baseline.source));
  });
  if (!usable) {
    baseline.source = fallback;
    baseline.in_sample = true;
  }
  const data::DataFileReader reader = mpi::collectively(comm, [&] {
    data::DataFileReader opened(baseline.source);
    const auto& [height, width, channels] = model.info.shape;
    if (!(opened.shape() == model.info.shape))
      throw Error(cat("cannot fit the PCA baseline on ", baseline.source, ": its images are ",
                      opened.shape().height, "x", opened.shape().width, "x",
                      opened.shape().channels, ", the model's ", height, "x", width, "x",
                      channels));
    return opened;
  });
  const data::RowSplit rows{reader.rows(), reader.chunk_rows(), 0.0, seed};
  const auto dim = static_cast<Eigen::Index>(reader.shape().bytes());
  baseline.normalisation.mean = Eigen::VectorXf::Zero(dim);
  baseline.normalisation.scale = Eigen::VectorXf::Ones(dim);
  if (components <= 0) components = model.network->architecture().code_size();
  baseline.fit = nn::fit_pca(reader, rows, baseline.normalisation, components, comm);
  return baseline;
}

PcaBaseline& PcaBaselineCache::fit(const nn::LoadedModel& model, const std::string& baseline_data,
                                   const std::string& fallback, std::uint64_t seed,
                                   const mpi::Communicator& comm, Eigen::Index components) {
  // The same on every rank: the key is made of arguments and the model's stored config.
  const std::string data =
      baseline_data.empty() ? training_input(model.info.config) : baseline_data;
  if (components <= 0) components = model.network->architecture().code_size();
  for (auto& entry : fitted_)
    // The fallback only matters to a fit that used it (the training data was gone).
    if (entry.data == data && entry.components == components && entry.seed == seed &&
        (!entry.baseline->in_sample || entry.fallback == fallback))
      return *entry.baseline;
  auto baseline = std::make_unique<PcaBaseline>(
      fit_pca_baseline(model, baseline_data, fallback, seed, comm, components));
  fitted_.push_back({data, fallback, components, seed, std::move(baseline)});
  return *fitted_.back().baseline;
}

}  // namespace aepipe::stages
