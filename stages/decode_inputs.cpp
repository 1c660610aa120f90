#include "stages/decode_inputs.hpp"

#include "h5/strings.hpp"
#include "mpi/agreement.hpp"
#include "stages/model_inputs.hpp"
#include "util/error.hpp"
#include "util/recorded_path.hpp"
#include "util/report.hpp"

namespace aepipe::stages {

DecodeInputs open_decode_inputs(const std::string& codes_path, const std::string& model_path,
                                const mpi::Communicator& comm) {
  DecodeInputs inputs;
  mpi::collectively(comm, [&] {
    inputs.codes.emplace(codes_path);
    inputs.model_path = model_path.empty()
                            ? resolve_recorded_path(inputs.codes->origin().model, codes_path)
                            : model_path;
    if (inputs.model_path.empty())
      throw UsageError(cat(codes_path, " names no model: give one with --model model.h5"));
    if (h5::exists(inputs.codes->file(), "/classes")) {
      const h5::Dataset classes = h5::Dataset::open(inputs.codes->file(), "/classes");
      inputs.classes = h5::read_strings(classes, 0, classes.rows());
    }
  });
  inputs.model = load_model(inputs.model_path, comm);
  const auto& codes = *inputs.codes;
  require_model_shape(inputs.model, inputs.model_path, codes.origin().image_shape, codes_path,
                      comm);
  mpi::collectively(comm, [&] {
    const auto& network = *inputs.model.network;
    if (network.architecture().code_size() != codes.code_size())
      throw Error(cat("model ", inputs.model_path, " has a code of ",
                      network.architecture().code_size(), " units but ", codes_path, " holds ",
                      codes.code_size(), "-unit codes"));
    if (inputs.model.info.normalisation.mode == nn::NormalisationMode::kPatch)
      throw Error(cat("model ", inputs.model_path,
                      " normalises each image by its own mean (--normalise patch), which codes "
                      "do not keep: decoding needs a model trained with --normalise none or "
                      "pixel"));
  });
  const std::string& stored = codes.origin().model_architecture;
  const std::string actual = inputs.model.network->architecture().describe();
  if (comm.is_root() && !stored.empty() && stored != actual)
    print_warning(cat(codes_path, " was encoded by a ", stored, " model, decoding with ",
                      inputs.model_path, " (", actual, ")"),
                  comm.rank());
  return inputs;
}

std::vector<std::string> read_names(const codec::CodesReader& codes, std::int64_t first,
                                    std::int64_t count) {
  if (h5::exists(codes.file(), "/names")) {
    const h5::Dataset names = h5::Dataset::open(codes.file(), "/names");
    if (names.rows() != static_cast<hsize_t>(codes.rows()))
      throw Error(
          cat(names.where(), " has ", names.rows(), " rows but the codes have ", codes.rows()));
    return h5::read_strings(names, static_cast<hsize_t>(first), static_cast<hsize_t>(count));
  }
  std::vector<std::string> names;
  for (std::int64_t i = 0; i < count; ++i) names.push_back(cat("row ", first + i));
  return names;
}

}  // namespace aepipe::stages
