#include "stages/model_inputs.hpp"

#include "mpi/agreement.hpp"
#include "util/error.hpp"

namespace aepipe::stages {

nn::LoadedModel load_model(const std::string& path, const mpi::Communicator& comm) {
  return mpi::collectively(comm, [&] { return nn::read_model(path); });
}

void require_model_shape(const nn::LoadedModel& model, const std::string& model_path,
                         const data::ImageShape& shape, const std::string& data_path,
                         const mpi::Communicator& comm) {
  mpi::collectively(comm, [&] {
    const auto& expected = model.info.shape;
    if (!(shape == expected))
      throw Error(cat("model ", model_path, " takes ", expected.height, "x", expected.width, "x",
                      expected.channels, " images but ", data_path, " holds ", shape.height, "x",
                      shape.width, "x", shape.channels));
  });
}

}  // namespace aepipe::stages
