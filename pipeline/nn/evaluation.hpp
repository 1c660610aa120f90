#pragma once
// Reconstruction quality of a network over the rows of a data file, computed by all ranks
// (chunks split across them) and summed in double.
//   sse_per_image  mean over images of sum_p (x^_p - x_p)^2 in pixel units [0, 1]
//   psnr           10 log10(1 / MSE), MSE = total squared error / (images * pixels)
//   loss           the mean reconstruction loss in network units (the training objective's
//                  data term)
//   mean_code      mean code activation over images and units
#include <functional>

#include "data/data_file_reader.hpp"
#include "data/epoch_order.hpp"
#include "mpi/communicator.hpp"
#include "nn/autoencoder.hpp"
#include "nn/dataset_pass.hpp"
#include "nn/normalisation.hpp"

namespace aepipe::nn {

struct Reconstruction {
  double sse_per_image = 0;
  double psnr = 0;
  double loss = 0;
  double mean_code = 0;
  double images = 0;
};

// `transform` maps normalised rows to the network's input (stacked pretraining); when it
// changes the dimension, errors are summed unweighted in those units.
Reconstruction evaluate_reconstruction(Autoencoder<float>& network,
                                       const Normalisation& normalisation,
                                       const data::DataFileReader& reader,
                                       const data::RowSplit& split, RowSelection selection,
                                       const mpi::Communicator& comm,
                                       const std::function<void(Eigen::MatrixXf&)>& transform = {});

}  // namespace aepipe::nn
