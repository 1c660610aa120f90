#include "codec/codes_reader.hpp"

#include <cmath>

#include "h5/attribute.hpp"
#include "h5/check.hpp"
#include "h5/format.hpp"
#include "util/error.hpp"

namespace aepipe::codec {
namespace {

std::int64_t required_int(const h5::File& file, const std::string& name) {
  return h5::required_int_attribute(file.id(), name, file.path());
}

std::string optional_string(const h5::File& file, const std::string& name) {
  return h5::read_string_attribute(file.id(), name, file.path()).value_or("");
}

// Throws unless `dataset` has dims [rows, width] (width 0: [rows]) and an integer or float
// type as asked.
void require_shape(const h5::Dataset& dataset, std::int64_t rows, std::int64_t width,
                   H5T_class_t type_class) {
  const auto dims = dataset.dims();
  const bool vector = width == 0;
  const bool shape_ok = dims.size() == (vector ? 1u : 2u) &&
                        dims[0] == static_cast<hsize_t>(rows) &&
                        (vector || dims[1] == static_cast<hsize_t>(width));
  if (!shape_ok) {
    std::string shape = "[";
    for (size_t i = 0; i < dims.size(); ++i) shape += cat(i ? ", " : "", dims[i]);
    throw Error(cat(dataset.where(), " has shape ", shape, "], expected [", rows,
                    vector ? "" : cat(", ", width), "]"));
  }
  h5::Handle type = dataset.file_type();
  if (H5Tget_class(type.get()) != type_class)
    throw Error(cat(dataset.where(), " is not of the ",
                    type_class == H5T_FLOAT ? "float" : "integer", " type the contract asks for"));
}

}  // namespace

CodesReader::CodesReader(const std::string& path)
    : path_(path), file_(h5::File::open(path, h5::File::Mode::kReadOnly, nullptr)) {
  h5::require_format(file_, kCodesFormat, kCodesVersion);
  layout_.rows = required_int(file_, "rows");
  layout_.code_size = required_int(file_, "code_size");
  layout_.bits = static_cast<int>(required_int(file_, "bits"));
  layout_.kept = required_int(file_, "kept");
  const std::string storage = optional_string(file_, "storage");
  if (layout_.rows < 0 || layout_.code_size < 1 || layout_.bits < 0 || layout_.bits > 16 ||
      layout_.kept < 0 || layout_.kept > layout_.code_size ||
      (storage == "sparse") != (layout_.kept > 0) || (storage != "sparse" && storage != "dense"))
    throw Error(cat(path_, " has inconsistent attributes: rows ", layout_.rows, ", code_size ",
                    layout_.code_size, ", bits ", layout_.bits, ", kept ", layout_.kept,
                    ", storage '", storage, "'"));
  origin_.model = optional_string(file_, "model");
  origin_.model_kind = optional_string(file_, "model_kind");
  origin_.model_architecture = optional_string(file_, "model_architecture");
  origin_.source = optional_string(file_, "source");
  origin_.image_shape = {static_cast<int>(required_int(file_, "height")),
                         static_cast<int>(required_int(file_, "width")),
                         static_cast<int>(required_int(file_, "channels"))};

  const H5T_class_t value_class = layout_.bits == 0 ? H5T_FLOAT : H5T_INTEGER;
  values_.emplace(h5::Dataset::open(file_, layout_.sparse() ? "/values" : "/codes"));
  require_shape(*values_, layout_.rows, layout_.values_per_row(), value_class);
  if (layout_.sparse()) {
    indices_.emplace(h5::Dataset::open(file_, "/indices"));
    require_shape(*indices_, layout_.rows, layout_.kept, H5T_INTEGER);
  }
  if (layout_.bits > 0) {
    Quantiser quantiser;
    quantiser.bits = layout_.bits;
    for (auto [name, values] :
         {std::pair{"/scale", &quantiser.scale}, std::pair{"/offset", &quantiser.offset}}) {
      const h5::Dataset dataset = h5::Dataset::open(file_, name);
      require_shape(dataset, layout_.code_size, 0, H5T_FLOAT);
      values->resize(layout_.code_size);
      dataset.read_rows(0, static_cast<hsize_t>(layout_.code_size), values->data());
      if (!values->allFinite())
        throw Error(cat(dataset.where(), " holds a value that is not a finite number"));
    }
    quantiser_ = std::move(quantiser);
  }
  if (h5::exists(file_, "/labels")) {
    labels_.emplace(h5::Dataset::open(file_, "/labels"));
    require_shape(*labels_, layout_.rows, 0, H5T_INTEGER);
    layout_.labels = true;
  }
  if (h5::exists(file_, "/tiles")) {
    tiles_.emplace(h5::Dataset::open(file_, "/tiles"));
    require_shape(*tiles_, layout_.rows, 4, H5T_INTEGER);
    if (!h5::exists(file_, "/sources"))
      throw Error(cat(path_, " has /tiles but no /sources table"));
    layout_.tiles = true;
  }
}

void CodesReader::read_values(std::int64_t first, std::int64_t count,
                              std::vector<float>& out) const {
  const auto width = static_cast<size_t>(layout_.values_per_row());
  out.resize(static_cast<size_t>(count) * width);
  const auto at = static_cast<hsize_t>(first);
  const auto rows = static_cast<hsize_t>(count);
  if (!quantiser_) {
    values_->read_rows(at, rows, out.data());
    for (size_t i = 0; i < out.size(); ++i)
      if (!std::isfinite(out[i]))
        throw Error(cat(values_->where(), " row ", first + static_cast<std::int64_t>(i / width),
                        " holds ", out[i], ", not a finite number"));
    return;
  }
  // Levels are read as uint32 whatever their stored width, then checked and mapped back.
  std::vector<std::uint32_t> levels(out.size());
  values_->read_rows(at, rows, levels.data());
  for (size_t i = 0; i < levels.size(); ++i)
    if (levels[i] > quantiser_->max_level())
      throw Error(cat(values_->where(), " row ", first + static_cast<std::int64_t>(i / width),
                      " holds level ", levels[i], ", above ", quantiser_->max_level(), " for ",
                      layout_.bits, " bits"));
  if (!layout_.sparse()) {
    for (size_t i = 0; i < levels.size(); ++i)
      out[i] = quantiser_->dequantise(levels[i], static_cast<Eigen::Index>(i % width));
  } else {
    // Sparse levels are mapped once their dimensions are known (read_codes).
    for (size_t i = 0; i < levels.size(); ++i) out[i] = static_cast<float>(levels[i]);
  }
}

void CodesReader::read_codes(std::int64_t first, std::int64_t count, Eigen::MatrixXf& out) const {
  if (first < 0 || count < 0 || first + count > layout_.rows)
    throw Error(cat("internal: rows ", first, "..", first + count, " of ", path_, " with ",
                    layout_.rows, " rows"));
  std::vector<float> values;
  read_values(first, count, values);
  const Eigen::Index k = layout_.code_size;
  if (!layout_.sparse()) {
    out = Eigen::Map<const Eigen::MatrixXf>(values.data(), k, count);
    return;
  }
  const auto width = static_cast<size_t>(layout_.kept);
  std::vector<std::uint32_t> indices(values.size());
  indices_->read_rows(static_cast<hsize_t>(first), static_cast<hsize_t>(count), indices.data());
  out.setZero(k, count);
  for (Eigen::Index column = 0; column < count; ++column) {
    for (size_t i = 0; i < width; ++i) {
      const size_t at = static_cast<size_t>(column) * width + i;
      const std::uint32_t index = indices[at];
      if (index >= static_cast<std::uint32_t>(k) || (i > 0 && index <= indices[at - 1]))
        throw Error(cat(indices_->where(), " row ", first + column, " holds index ", index,
                        index >= static_cast<std::uint32_t>(k)
                            ? cat(", outside the code of ", k, " units")
                            : std::string(", not above the one before it")));
      const auto unit = static_cast<Eigen::Index>(index);
      out(unit, column) = quantiser_
                              ? quantiser_->dequantise(static_cast<std::uint32_t>(values[at]), unit)
                              : values[at];
    }
  }
}

std::vector<std::int32_t> CodesReader::read_labels(std::int64_t first, std::int64_t count) const {
  std::vector<std::int32_t> labels(static_cast<size_t>(count), -1);
  if (labels_)
    labels_->read_rows(static_cast<hsize_t>(first), static_cast<hsize_t>(count), labels.data());
  return labels;
}

std::vector<std::int64_t> CodesReader::read_tiles(std::int64_t first, std::int64_t count) const {
  if (!tiles_) throw Error(cat("internal: ", path_, " has no /tiles"));
  std::vector<std::int64_t> tiles(static_cast<size_t>(count) * 4);
  tiles_->read_rows(static_cast<hsize_t>(first), static_cast<hsize_t>(count), tiles.data());
  return tiles;
}

std::uint64_t CodesReader::code_bytes() const {
  std::uint64_t bytes = H5Dget_storage_size(values_->id());
  if (indices_) bytes += H5Dget_storage_size(indices_->id());
  return bytes;
}

std::uint64_t CodesReader::quantiser_bytes() const {
  if (!quantiser_) return 0;
  std::uint64_t bytes = 0;
  for (const char* name : {"/scale", "/offset"})
    bytes += H5Dget_storage_size(h5::Dataset::open(file_, name).id());
  return bytes;
}

}  // namespace aepipe::codec
