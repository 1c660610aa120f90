#pragma once
// Opening a model and checking it fits the images it is given: shared by the stages that
// run a trained network (evaluate, encode, decode).
#include <string>

#include "data/image.hpp"
#include "mpi/communicator.hpp"
#include "nn/model_file.hpp"

namespace aepipe::stages {

// Collective: every rank reads and validates the model; errors are agreed on.
nn::LoadedModel load_model(const std::string& path, const mpi::Communicator& comm);

// Collective: throws on every rank unless the model takes images of `shape`.
void require_model_shape(const nn::LoadedModel& model, const std::string& model_path,
                         const data::ImageShape& shape, const std::string& data_path,
                         const mpi::Communicator& comm);

}  // namespace aepipe::stages
