#include "nn/evaluation.hpp"

#include <cmath>

#include "mpi/agreement.hpp"

namespace aepipe::nn {

Reconstruction evaluate_reconstruction(Autoencoder<float>& network,
                                       const Normalisation& normalisation,
                                       const data::DataFileReader& reader,
                                       const data::RowSplit& split, RowSelection selection,
                                       const mpi::Communicator& comm,
                                       const std::function<void(Eigen::MatrixXf&)>& transform) {
  double sums[4] = {0, 0, 0, 0};  // squared error, loss, code sum, images
  Eigen::MatrixXf target;
  const Eigen::VectorXf weight = normalisation.pixel_error_weight();
  mpi::collectively(comm, [&] {
    for_each_chunk(
        reader, split, selection, comm.rank(), comm.size(),
        [&](const auto& pixels, const auto& rows) {
          normalisation.apply(pixels.data(), static_cast<Eigen::Index>(rows.size()), target);
          if (transform) transform(target);
          const Eigen::MatrixXf& output = network.forward(target);
          // Per-image sums in float (D terms), then double across images:
          // one float sum over a whole chunk loses ~1e-3 relative.
          const Eigen::ArrayXXf squared = (output - target).array().square();
          const auto total = [](const Eigen::ArrayXXf& values) {
            return values.colwise().sum().cast<double>().sum();
          };
          sums[0] += target.rows() == weight.size() ? total(squared.colwise() * weight.array())
                                                    : total(squared);
          if (network.objective().loss == Loss::kMse) {
            sums[1] += 0.5 * total(squared);
          } else {
            const Eigen::ArrayXXf y = output.array().max(1e-7f).min(1.0f - 1e-7f);
            const auto x = target.array();
            sums[1] -= total(x * y.log() + (1.0f - x) * (1.0f - y).log());
          }
          sums[2] += total(network.code().array());
          sums[3] += static_cast<double>(rows.size());
        });
  });
  comm.allreduce_sum(std::span<double>(sums, 4));
  Reconstruction result;
  result.images = sums[3];
  if (sums[3] == 0) return result;
  result.sse_per_image = sums[0] / sums[3];
  result.loss = sums[1] / sums[3];
  result.mean_code = sums[2] / (sums[3] * static_cast<double>(network.architecture().code_size()));
  const double pixels = static_cast<double>(network.architecture().input_size());
  const double mse = result.sse_per_image / pixels;
  result.psnr = mse > 0 ? 10.0 * std::log10(1.0 / mse) : INFINITY;
  return result;
}

}  // namespace aepipe::nn
