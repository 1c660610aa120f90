#include "nn/model_file.hpp"

#include <cmath>

#include "h5/attribute.hpp"
#include "h5/check.hpp"
#include "h5/dataset.hpp"
#include "h5/format.hpp"
#include "util/error.hpp"

namespace aepipe::nn {
namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void write_vector(const h5::File& file, const std::string& name, const float* values,
                  std::size_t count) {
  h5::Dataset dataset = h5::Dataset::create(file, name, H5T_IEEE_F32LE, count, {}, {0, 0, false});
  dataset.write_rows(0, count, values);
}

void write_doubles(const h5::File& file, const std::string& name,
                   const std::vector<double>& values) {
  h5::Dataset dataset =
      h5::Dataset::create(file, name, H5T_IEEE_F64LE, values.size(), {}, {0, 0, false});
  dataset.write_rows(0, values.size(), values.data());
}

// [out, in] row-major in the file, as readers (h5py, numpy) expect W @ x.
void write_weight(const h5::File& file, const std::string& name, const Eigen::MatrixXf& weight) {
  const RowMajor row_major = weight;
  h5::Dataset dataset =
      h5::Dataset::create(file, name, H5T_IEEE_F32LE, static_cast<hsize_t>(weight.rows()),
                          {static_cast<hsize_t>(weight.cols())}, {0, 0, false});
  dataset.write_rows(0, static_cast<hsize_t>(weight.rows()), row_major.data());
}

std::vector<float> read_floats(const h5::File& file, const std::string& name, std::size_t count) {
  h5::Dataset dataset = h5::Dataset::open(file, name);
  if (dataset.dims().size() != 1 || dataset.rows() != count)
    throw Error(cat(dataset.where(), " has ", dataset.rows(), " values, expected ", count));
  std::vector<float> values(count);
  dataset.read_rows(0, count, values.data());
  return values;
}

std::vector<double> read_doubles(const h5::File& file, const std::string& name) {
  if (!h5::exists(file, name)) return {};
  h5::Dataset dataset = h5::Dataset::open(file, name);
  std::vector<double> values(dataset.rows());
  dataset.read_rows(0, dataset.rows(), values.data());
  return values;
}

Eigen::MatrixXf read_weight(const h5::File& file, const std::string& name, Eigen::Index rows,
                            Eigen::Index cols) {
  h5::Dataset dataset = h5::Dataset::open(file, name);
  const auto dims = dataset.dims();
  if (dims.size() != 2 || dims[0] != static_cast<hsize_t>(rows) ||
      dims[1] != static_cast<hsize_t>(cols))
    throw Error(cat(dataset.where(), " has shape [", dims[0],
                    dims.size() > 1 ? cat(", ", dims[1]) : "", "], expected [", rows, ", ", cols,
                    "] for the architecture"));
  RowMajor values(rows, cols);
  dataset.read_rows(0, static_cast<hsize_t>(rows), values.data());
  return values;
}

std::string required_string(const h5::File& file, const std::string& name) {
  return h5::required_string_attribute(file.id(), name, file.path());
}

std::int64_t required_int(const h5::File& file, const std::string& name) {
  return h5::required_int_attribute(file.id(), name, file.path());
}

double required_float(const h5::File& file, const std::string& name) {
  return h5::required_float_attribute(file.id(), name, file.path());
}

std::string encoder_spec(const Architecture& architecture) {
  std::string text = std::to_string(architecture.sizes[0]);
  for (std::size_t i = 1; i < architecture.sizes.size(); ++i)
    text += cat("-", architecture.sizes[i], ":", to_string(architecture.encoder[i - 1]));
  return text;
}

}  // namespace

void write_model(const std::string& path, Autoencoder<float>& network, const ModelInfo& info,
                 const TrainingState* state) {
  h5::File file = h5::File::create(path, nullptr);
  const Architecture& architecture = network.architecture();
  const Objective& objective = network.objective();
  h5::write_format_tag(file, {kModelFormat, kModelVersion});
  const auto attribute = [&](const std::string& name, const auto& value) {
    h5::write_attribute(file.id(), name, value, path);
  };
  attribute("kind", info.kind);
  attribute("architecture", encoder_spec(architecture));
  attribute("output_activation", to_string(architecture.decoder.back()));
  attribute("tied", std::int64_t{architecture.tied});
  attribute("loss", to_string(objective.loss));
  attribute("sparsity", to_string(objective.sparsity));
  attribute("rho", objective.rho);
  attribute("beta", objective.beta);
  attribute("k", static_cast<std::int64_t>(objective.k));
  attribute("weight_decay", objective.weight_decay);
  attribute("height", std::int64_t{info.shape.height});
  attribute("width", std::int64_t{info.shape.width});
  attribute("channels", std::int64_t{info.shape.channels});
  attribute("config", info.config);
  attribute("checkpoint", std::int64_t{state != nullptr});

  const std::size_t layers = architecture.encoder_layers();
  for (std::size_t l = 0; l < network.layer_count(); ++l) {
    const bool decoder = l >= layers;
    const std::string group = cat(decoder ? "/decoder/" : "/encoder/", decoder ? l - layers : l);
    Eigen::MatrixXf weight = network.weight(l);
    if (network.tied(l)) weight.transposeInPlace();
    write_weight(file, group + "/W", weight);
    write_vector(file, group + "/b", network.bias(l).data(),
                 static_cast<std::size_t>(network.bias(l).size()));
  }
  const Normalisation& normalisation = info.normalisation;
  write_vector(file, "/normalisation/mean", normalisation.mean.data(),
               static_cast<std::size_t>(normalisation.mean.size()));
  write_vector(file, "/normalisation/scale", normalisation.scale.data(),
               static_cast<std::size_t>(normalisation.scale.size()));
  {
    h5::Handle group(
        h5::check_id(H5Gopen2(file.id(), "/normalisation", H5P_DEFAULT), "normalisation group"));
    h5::write_attribute(group.get(), "mode", to_string(normalisation.mode), path);
  }
  write_doubles(file, "/history/train_loss", info.history.train_loss);
  write_doubles(file, "/history/validation_loss", info.history.validation_loss);
  write_doubles(file, "/history/learning_rate", info.history.learning_rate);
  write_doubles(file, "/history/samples_per_s", info.history.samples_per_s);
  write_doubles(file, "/history/seconds", info.history.seconds);

  if (state != nullptr) {
    attribute("optimizer", to_string(state->optimizer));
    attribute("optimizer_steps", state->optimizer_steps);
    attribute("epoch", state->epoch);
    attribute("step_in_epoch", state->step_in_epoch);
    attribute("global_step", state->global_step);
    attribute("ranks", state->ranks);
    attribute("epoch_loss_sum", state->epoch_loss_sum);
    attribute("epoch_samples", state->epoch_samples);
    attribute("epoch_seconds", state->epoch_seconds);
    write_vector(file, "/optimizer/first", state->first.data(), state->first.size());
    write_vector(file, "/optimizer/second", state->second.data(), state->second.size());
  }
  file.close();
}

LoadedModel read_model(const std::string& path) {
  h5::File file = h5::File::open(path, h5::File::Mode::kReadOnly, nullptr);
  h5::require_format(file, kModelFormat, kModelVersion);
  LoadedModel loaded;
  ModelInfo& info = loaded.info;
  info.kind = required_string(file, "kind");
  // A damaged file's bad words are the file's fault, not a usage error: name the file.
  const auto in_file = [&](const auto& parse) {
    try {
      return parse();
    } catch (const UsageError& error) {
      throw Error(cat(path, ": ", error.what()));
    }
  };
  ActivationDefaults defaults;
  defaults.output =
      in_file([&] { return parse_activation(required_string(file, "output_activation")); });
  const Architecture architecture = in_file([&] {
    return parse_architecture(required_string(file, "architecture"), defaults,
                              required_int(file, "tied") != 0);
  });
  Objective objective;
  objective.loss = in_file([&] { return parse_loss(required_string(file, "loss")); });
  objective.sparsity = in_file([&] { return parse_sparsity(required_string(file, "sparsity")); });
  objective.rho = required_float(file, "rho");
  objective.beta = required_float(file, "beta");
  objective.k = required_int(file, "k");
  objective.weight_decay = required_float(file, "weight_decay");
  info.shape = {static_cast<int>(required_int(file, "height")),
                static_cast<int>(required_int(file, "width")),
                static_cast<int>(required_int(file, "channels"))};
  if (static_cast<Eigen::Index>(info.shape.bytes()) != architecture.input_size())
    throw Error(cat(path, ": images of ", info.shape.height, "x", info.shape.width, "x",
                    info.shape.channels, " do not fit an input layer of ",
                    architecture.input_size()));
  info.config = h5::read_string_attribute(file.id(), "config", path).value_or("");
  try {
    loaded.network = std::make_unique<Autoencoder<float>>(architecture, objective);
  } catch (const UsageError& error) {
    throw Error(cat(path, ": ", error.what()));
  }
  auto& network = *loaded.network;
  const std::size_t layers = architecture.encoder_layers();
  for (std::size_t l = 0; l < network.layer_count(); ++l) {
    const bool decoder = l >= layers;
    const std::string group = cat(decoder ? "/decoder/" : "/encoder/", decoder ? l - layers : l);
    const auto bias = network.bias(l);
    const Eigen::MatrixXf weight =
        read_weight(file, group + "/W", bias.size(),
                    network.tied(l) ? network.weight(l).rows() : network.weight(l).cols());
    if (!network.tied(l)) network.weight(l) = weight;
    const auto values = read_floats(file, group + "/b", static_cast<std::size_t>(bias.size()));
    network.bias(l) = Eigen::Map<const Eigen::VectorXf>(values.data(), bias.size());
  }
  const auto dim = static_cast<std::size_t>(architecture.input_size());
  h5::Handle group(h5::check_id(H5Gopen2(file.id(), "/normalisation", H5P_DEFAULT),
                                cat(path, ": no /normalisation group")));
  auto mode = h5::read_string_attribute(group.get(), "mode", path + ":/normalisation");
  if (!mode) throw Error(cat(path, ":/normalisation lacks the attribute mode"));
  info.normalisation.mode = in_file([&] { return parse_normalisation(*mode); });
  const auto mean = read_floats(file, "/normalisation/mean", dim);
  const auto scale = read_floats(file, "/normalisation/scale", dim);
  info.normalisation.mean =
      Eigen::Map<const Eigen::VectorXf>(mean.data(), static_cast<Eigen::Index>(dim));
  info.normalisation.scale =
      Eigen::Map<const Eigen::VectorXf>(scale.data(), static_cast<Eigen::Index>(dim));
  if (!info.normalisation.mean.allFinite() || !info.normalisation.scale.allFinite())
    throw Error(cat(path, ": /normalisation holds NaN or Inf"));
  for (float value : network.parameters())
    if (!std::isfinite(value)) throw Error(cat(path, ": the weights hold NaN or Inf"));
  info.history.train_loss = read_doubles(file, "/history/train_loss");
  info.history.validation_loss = read_doubles(file, "/history/validation_loss");
  info.history.learning_rate = read_doubles(file, "/history/learning_rate");
  info.history.samples_per_s = read_doubles(file, "/history/samples_per_s");
  info.history.seconds = read_doubles(file, "/history/seconds");

  if (required_int(file, "checkpoint") != 0) {
    TrainingState state;
    state.optimizer = in_file([&] { return parse_optimizer(required_string(file, "optimizer")); });
    state.optimizer_steps = required_int(file, "optimizer_steps");
    state.epoch = required_int(file, "epoch");
    state.step_in_epoch = required_int(file, "step_in_epoch");
    state.global_step = required_int(file, "global_step");
    state.ranks = required_int(file, "ranks");
    state.epoch_loss_sum =
        h5::read_float_attribute(file.id(), "epoch_loss_sum", path).value_or(0.0);
    state.epoch_samples = h5::read_float_attribute(file.id(), "epoch_samples", path).value_or(0.0);
    state.epoch_seconds = h5::read_float_attribute(file.id(), "epoch_seconds", path).value_or(0.0);
    const std::size_t parameters = network.parameters().size();
    state.first = read_floats(file, "/optimizer/first", parameters);
    state.second = read_floats(file, "/optimizer/second",
                               state.optimizer == Optimizer::Kind::kAdam ? parameters : 0);
    loaded.state = std::move(state);
  }
  return loaded;
}

}  // namespace aepipe::nn
