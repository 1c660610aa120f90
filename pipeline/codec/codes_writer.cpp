#include "codec/codes_writer.hpp"

#include <cstdio>
#include <vector>

#include "data/source_table.hpp"
#include "h5/attribute.hpp"
#include "h5/format.hpp"
#include "mpi/agreement.hpp"
#include "util/atomic_output.hpp"
#include "util/error.hpp"

namespace aepipe::codec {
namespace {

hid_t value_file_type(int bits) {
  if (bits == 0) return H5T_IEEE_F32LE;
  return bits <= 8 ? H5T_STD_U8LE : H5T_STD_U16LE;
}

// Levels of `values` [count] of the given dimensions as the stored integer type.
template <class Level>
void quantise_into(const Quantiser& quantiser, const float* values, const Eigen::Index* dimensions,
                   std::size_t count, std::vector<Level>& out) {
  for (std::size_t i = 0; i < count; ++i)
    out.push_back(static_cast<Level>(quantiser.quantise(values[i], dimensions[i])));
}

}  // namespace

CodesWriter::CodesWriter(const mpi::Communicator& comm, std::string output,
                         const CodesLayout& layout, std::optional<Quantiser> quantiser)
    : comm_(comm), output_(std::move(output)), layout_(layout), quantiser_(std::move(quantiser)) {
  if ((layout_.bits > 0) != quantiser_.has_value())
    throw Error("internal: codes writer needs a quantiser exactly when bits > 0");
  temporary_ = temporary_path_for(output_, comm_);
  mpi::or_abort(comm_, [&] {
    file_.emplace(h5::File::create(temporary_, &comm_));
    const auto rows = static_cast<hsize_t>(layout_.rows);
    const auto width = static_cast<hsize_t>(layout_.values_per_row());
    const hid_t type = value_file_type(layout_.bits);
    // 0 rows per chunk: Dataset::create picks about 1 MiB per chunk.
    const auto chunk_rows = static_cast<hsize_t>(layout_.chunk_rows);
    h5::DatasetLayout codes_layout{chunk_rows, layout_.deflate_level, false, layout_.bits == 0};
    values_.emplace(h5::Dataset::create(*file_, layout_.sparse() ? "/values" : "/codes", type, rows,
                                        {width}, codes_layout));
    if (layout_.sparse()) {
      const hid_t index_type = layout_.code_size <= 65536 ? H5T_STD_U16LE : H5T_STD_U32LE;
      indices_.emplace(h5::Dataset::create(*file_, "/indices", index_type, rows, {width},
                                           {chunk_rows, layout_.deflate_level, false}));
    }
    const hsize_t metadata_rows =
        chunk_rows > 0 ? chunk_rows
                       : std::max<hsize_t>(4096, h5::rows_per_chunk(width * H5Tget_size(type)));
    if (layout_.labels)
      labels_.emplace(h5::Dataset::create(*file_, "/labels", H5T_STD_I32LE, rows, {},
                                          {metadata_rows, layout_.deflate_level, false}));
    if (layout_.tiles)
      tiles_.emplace(h5::Dataset::create(*file_, "/tiles", H5T_STD_I64LE, rows, {4},
                                         {metadata_rows, layout_.deflate_level, false}));
  });
}

CodesWriter::~CodesWriter() {
  if (finished_) return;
  // Reached while unwinding from an agreed failure: every rank is here, so the collective
  // close is safe.
  tiles_.reset();
  labels_.reset();
  indices_.reset();
  values_.reset();
  file_.reset();
  if (comm_.is_root()) std::remove(temporary_.c_str());
  unregister_temporary(temporary_);
}

void CodesWriter::write(std::int64_t first, const Eigen::MatrixXf& codes,
                        const Eigen::MatrixXf* kept, std::span<const std::int32_t> labels,
                        std::span<const std::int64_t> tiles) {
  const Eigen::Index count = codes.cols();
  const Eigen::Index k = layout_.code_size;
  const Eigen::Index width = layout_.values_per_row();
  // Row-major [count, width] values and their code dimensions.
  std::vector<float> values;
  std::vector<Eigen::Index> dimensions;
  values.reserve(static_cast<size_t>(count * width));
  dimensions.reserve(values.capacity());
  // Indices in the stored width: a conversion would break collective I/O with filters.
  std::vector<std::uint16_t> narrow_indices;
  std::vector<std::uint32_t> indices;
  for (Eigen::Index column = 0; column < count; ++column) {
    Eigen::Index taken = 0;
    for (Eigen::Index j = 0; j < k; ++j) {
      if (layout_.sparse() && (*kept)(j, column) == 0.0f) continue;
      values.push_back(codes(j, column));
      dimensions.push_back(j);
      if (layout_.sparse()) indices.push_back(static_cast<std::uint32_t>(j));
      ++taken;
    }
    if (taken != width)
      throw Error(
          cat("internal: ", taken, " code values for row ", first + column, ", expected ", width));
  }
  mpi::or_abort(comm_, [&] {
    const auto at = static_cast<hsize_t>(first);
    const auto rows = static_cast<hsize_t>(count);
    if (layout_.bits == 0) {
      values_->write_rows(at, rows, values.data());
    } else if (layout_.bits <= 8) {
      std::vector<std::uint8_t> levels;
      quantise_into(*quantiser_, values.data(), dimensions.data(), values.size(), levels);
      values_->write_rows(at, rows, levels.data());
    } else {
      std::vector<std::uint16_t> levels;
      quantise_into(*quantiser_, values.data(), dimensions.data(), values.size(), levels);
      values_->write_rows(at, rows, levels.data());
    }
    if (indices_ && layout_.code_size <= 65536) {
      narrow_indices.assign(indices.begin(), indices.end());
      indices_->write_rows(at, rows, narrow_indices.data());
    } else if (indices_) {
      indices_->write_rows(at, rows, indices.data());
    }
    if (labels_) labels_->write_rows(at, rows, labels.data());
    if (tiles_) tiles_->write_rows(at, rows, tiles.data());
  });
}

void CodesWriter::finish(const CodesOrigin& origin) {
  mpi::or_abort(comm_, [&] {
    tiles_.reset();
    labels_.reset();
    indices_.reset();
    values_.reset();
    file_->close();
    file_.reset();
  });
  mpi::collectively(comm_, [&] {
    if (!comm_.is_root()) return;
    write_serial_part(origin);
    commit_output(temporary_, output_);
  });
  finished_ = true;
  unregister_temporary(temporary_);
}

void CodesWriter::write_serial_part(const CodesOrigin& origin) {
  h5::File file = h5::File::open(temporary_, h5::File::Mode::kReadWrite, nullptr);
  {
    const h5::File source = h5::File::open(origin.source, h5::File::Mode::kReadOnly, nullptr);
    // Tile names ("photo.png@8,16") are /sources and /tiles spelled out: variable-length
    // strings are not compressed by HDF5 and would cost more than the codes.
    data::copy_row_strings(source, file, layout_.deflate_level, !layout_.tiles);
  }
  if (quantiser_) {
    const auto k = static_cast<hsize_t>(layout_.code_size);
    for (const auto& [name, values] :
         {std::pair{"/scale", &quantiser_->scale}, std::pair{"/offset", &quantiser_->offset}}) {
      h5::Dataset dataset = h5::Dataset::create(file, name, H5T_IEEE_F32LE, k, {}, {0, 0, false});
      dataset.write_rows(0, k, values->data());
    }
  }
  const std::string& where = output_;
  h5::write_format_tag(file, {kCodesFormat, kCodesVersion});
  h5::write_attribute(file.id(), "rows", layout_.rows, where);
  h5::write_attribute(file.id(), "code_size", layout_.code_size, where);
  h5::write_attribute(file.id(), "storage", std::string(layout_.sparse() ? "sparse" : "dense"),
                      where);
  h5::write_attribute(file.id(), "bits", std::int64_t{layout_.bits}, where);
  h5::write_attribute(file.id(), "kept", layout_.kept, where);
  h5::write_attribute(file.id(), "model", origin.model, where);
  h5::write_attribute(file.id(), "model_kind", origin.model_kind, where);
  h5::write_attribute(file.id(), "model_architecture", origin.model_architecture, where);
  h5::write_attribute(file.id(), "source", origin.source, where);
  h5::write_attribute(file.id(), "height", std::int64_t{origin.image_shape.height}, where);
  h5::write_attribute(file.id(), "width", std::int64_t{origin.image_shape.width}, where);
  h5::write_attribute(file.id(), "channels", std::int64_t{origin.image_shape.channels}, where);
  h5::write_attribute(file.id(), "created_by", h5::created_by(), where);
  file.close();
}

}  // namespace aepipe::codec
