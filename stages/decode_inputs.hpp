#pragma once
// A codes file and the model that decodes it, checked against each other: shared by decode
// and by evaluate on codes.
#include <optional>
#include <string>
#include <vector>

#include "codec/codes_reader.hpp"
#include "mpi/communicator.hpp"
#include "nn/model_file.hpp"

namespace aepipe::stages {

struct DecodeInputs {
  std::optional<codec::CodesReader> codes;
  std::string model_path;  // as given, or as named by the codes file
  nn::LoadedModel model;
  std::vector<std::string> classes;  // the codes file's /classes, if any
};

// Collective. `model_path` "" takes the model the codes file names. Throws on every rank if
// the model's code size or image shape differ from the codes', or if its normalisation
// cannot be inverted (patch).
DecodeInputs open_decode_inputs(const std::string& codes_path, const std::string& model_path,
                                const mpi::Communicator& comm);

// The codes file's /names of rows [first, first + count), or "row <i>" if it has none.
std::vector<std::string> read_names(const codec::CodesReader& codes, std::int64_t first,
                                    std::int64_t count);

}  // namespace aepipe::stages
