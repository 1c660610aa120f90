#include "index/index_file.hpp"

#include <cmath>
#include <cstdio>

#include "h5/attribute.hpp"
#include "h5/dataset.hpp"
#include "h5/format.hpp"
#include "mpi/agreement.hpp"
#include "util/atomic_output.hpp"
#include "util/error.hpp"

namespace aepipe::index {
namespace {

// Uncompressed: float vectors barely deflate, and queries load the whole file.
const h5::DatasetLayout kLayout{0, 0, false};
// Bounds of the attributes, as sanity checks of a file's contents.
constexpr std::int64_t kMaxLists = std::int64_t{1} << 20;
constexpr std::int64_t kMaxBits = 4096;

template <class T>
void write_dataset(const h5::File& file, const std::string& name, hid_t file_type, hsize_t rows,
                   const std::vector<hsize_t>& row_shape, const T* data) {
  h5::Dataset dataset = h5::Dataset::create(file, name, file_type, rows, row_shape, kLayout);
  dataset.write_rows(0, rows, data);
}

void write_matrix(const h5::File& file, const std::string& name, const RowMatrixXf& matrix) {
  write_dataset(file, name, H5T_IEEE_F32LE, static_cast<hsize_t>(matrix.rows()),
                {static_cast<hsize_t>(matrix.cols())}, matrix.data());
}

void write_ids(const h5::File& file, const std::string& name,
               const std::vector<std::int64_t>& ids) {
  write_dataset(file, name, H5T_STD_I64LE, ids.size(), {}, ids.data());
}

void write_common(const h5::File& file, const Index& index) {
  const IndexSpec spec = spec_of(index);
  h5::write_format_tag(file, {kIndexFormat, kIndexVersion});
  const auto attribute = [&](const std::string& name, const auto& value) {
    h5::write_attribute(file.id(), name, value, file.path());
  };
  attribute("type", to_string(spec.kind));
  attribute("metric", to_string(spec.metric));
  attribute("dim", static_cast<std::int64_t>(dim_of(index)));
  attribute("count", static_cast<std::int64_t>(size_of(index)));
  attribute("spec", to_string(spec));
  if (spec.kind == Kind::kIvf) attribute("nlist", spec.nlist);
  if (spec.kind == Kind::kHash) {
    attribute("bits", spec.bits);
    attribute("method", to_string(spec.hash_method));
  }
  attribute("created_by", h5::created_by());
}

void write_source(const h5::File& file, const Index& index, const IndexSource& source) {
  if (!source.codes.empty()) h5::write_attribute(file.id(), "codes", source.codes, file.path());
  if (!source.labels) return;
  const auto count = static_cast<std::size_t>(size_of(index));
  if (source.labels->size() != count)
    throw Error(
        cat("internal: ", source.labels->size(), " labels for an index of ", count, " vectors"));
  write_dataset(file, "/labels", H5T_STD_I32LE, count, {}, source.labels->data());
}

// ---- reading ----

struct Reader {
  const h5::File& file;

  std::string where(const std::string& name) const { return cat(file.path(), ":", name); }

  std::string string_attribute(const std::string& name) const {
    return h5::required_string_attribute(file.id(), name, file.path());
  }
  std::int64_t int_attribute(const std::string& name, std::int64_t min, std::int64_t max) const {
    const std::int64_t value = h5::required_int_attribute(file.id(), name, file.path());
    if (value < min || value > max)
      throw Error(
          cat(file.path(), ": attribute ", name, " is ", value, ", expected ", min, " to ", max));
    return value;
  }

  // Opens `name` and checks its shape is [rows] (cols < 0) or [rows, cols].
  h5::Dataset open(const std::string& name, std::int64_t rows, std::int64_t cols) const {
    h5::Dataset dataset = h5::Dataset::open(file, name);
    const auto dims = dataset.dims();
    const bool matrix = cols >= 0;
    const bool ok = dims.size() == (matrix ? 2u : 1u) && dims[0] == static_cast<hsize_t>(rows) &&
                    (!matrix || dims[1] == static_cast<hsize_t>(cols));
    if (!ok) {
      std::string shape;
      for (std::size_t i = 0; i < dims.size(); ++i) shape += cat(i ? ", " : "", dims[i]);
      throw Error(cat(dataset.where(), " has shape [", shape, "], expected [", rows,
                      matrix ? cat(", ", cols) : "", "]"));
    }
    return dataset;
  }

  RowMatrixXf matrix(const std::string& name, std::int64_t rows, std::int64_t cols) const {
    h5::Dataset dataset = open(name, rows, cols);
    RowMatrixXf values(rows, cols);
    if (values.size() > 0) dataset.read_rows(0, static_cast<hsize_t>(rows), values.data());
    for (Eigen::Index i = 0; i < values.rows(); ++i)
      for (Eigen::Index j = 0; j < values.cols(); ++j)
        if (!std::isfinite(values(i, j)))
          throw Error(cat(dataset.where(), " row ", i, " column ", j, " is ", values(i, j),
                          " (expected finite numbers)"));
    return values;
  }

  template <class T>
  std::vector<T> values(const std::string& name, std::int64_t rows, std::int64_t cols = -1) const {
    h5::Dataset dataset = open(name, rows, cols);
    std::vector<T> values(static_cast<std::size_t>(rows * std::max<std::int64_t>(cols, 1)));
    if (!values.empty()) dataset.read_rows(0, static_cast<hsize_t>(rows), values.data());
    return values;
  }

  // ids [count]: each of 0..count-1 exactly once.
  std::vector<std::int64_t> ids(std::int64_t count) const {
    std::vector<std::int64_t> ids = values<std::int64_t>("/ids", count);
    std::vector<bool> seen(static_cast<std::size_t>(count), false);
    for (std::size_t row = 0; row < ids.size(); ++row) {
      const std::int64_t id = ids[row];
      if (id < 0 || id >= count || seen[static_cast<std::size_t>(id)])
        throw Error(cat(where("/ids"), " row ", row, " holds ", id, ", expected each of 0 to ",
                        count - 1, " once"));
      seen[static_cast<std::size_t>(id)] = true;
    }
    return ids;
  }
};

FlatIndex read_flat(const Reader& reader, Metric metric, std::int64_t dim, std::int64_t count) {
  return make_flat(reader.matrix("/vectors", count, dim), reader.ids(count), metric, true);
}

IvfIndex read_ivf(const Reader& reader, Metric metric, std::int64_t dim, std::int64_t count) {
  IvfIndex index;
  index.metric = metric;
  const std::int64_t nlist = reader.int_attribute("nlist", 1, kMaxLists);
  index.centroids = reader.matrix("/centroids", nlist, dim);
  index.list_offsets = reader.values<std::int64_t>("/list_offsets", nlist + 1);
  const auto& offsets = index.list_offsets;
  if (offsets.front() != 0)
    throw Error(cat(reader.where("/list_offsets"), " starts at ", offsets.front(), ", expected 0"));
  for (std::int64_t l = 0; l < nlist; ++l)
    if (offsets[l + 1] < offsets[l])
      throw Error(cat(reader.where("/list_offsets"), " decreases at list ", l, " (", offsets[l],
                      " then ", offsets[l + 1], ")"));
  if (offsets.back() != count)
    throw Error(cat(reader.where("/list_offsets"), " ends at ", offsets.back(),
                    ", expected the vector count ", count));
  index.ids = reader.ids(count);
  for (std::int64_t l = 0; l < nlist; ++l)
    for (std::int64_t row = offsets[l] + 1; row < offsets[l + 1]; ++row)
      if (index.ids[row] <= index.ids[row - 1])
        throw Error(cat(reader.where("/ids"), " row ", row, " (list ", l,
                        "): ids within a list must increase"));
  index.vectors = reader.matrix("/vectors", count, dim);
  finish_ivf(index);
  return index;
}

HashIndex read_hash(const Reader& reader, std::int64_t dim, std::int64_t count) {
  HashIndex index;
  index.bits = reader.int_attribute("bits", 1, kMaxBits);
  index.method = parse_hash_method(reader.string_attribute("method"), reader.where("method"));
  const Eigen::Index words = index.words();
  index.codes = reader.values<std::uint64_t>("/bits", count, words);
  const Eigen::Index spare = words * 64 - index.bits;
  if (spare > 0) {
    const std::uint64_t mask = ~std::uint64_t{0} << (64 - spare);
    for (std::int64_t row = 0; row < count; ++row)
      if ((index.codes[static_cast<std::size_t>((row + 1) * words - 1)] & mask) != 0)
        throw Error(cat(reader.where("/bits"), " row ", row, " sets bits past the ", index.bits,
                        " of the hash"));
  }
  index.ids = reader.ids(count);
  const std::vector<float> mean = reader.values<float>("/mean", dim);
  for (std::size_t j = 0; j < mean.size(); ++j)
    if (!std::isfinite(mean[j]))
      throw Error(
          cat(reader.where("/mean"), " value ", j, " is ", mean[j], " (expected finite numbers)"));
  index.mean = Eigen::Map<const Eigen::VectorXf>(mean.data(), dim);
  index.rotation = reader.matrix("/rotation", dim, index.bits);
  return index;
}

// The root attributes every index has (format tag, kind, metric, dim, count, nlist / bits).
IndexSummary read_header(const Reader& reader) {
  const h5::File& file = reader.file;
  h5::require_format(file, kIndexFormat, kIndexVersion);
  IndexSummary summary;
  IndexSpec& spec = summary.spec;
  spec.kind = parse_kind(reader.string_attribute("type"), reader.where("type"));
  spec.metric = parse_metric(reader.string_attribute("metric"), reader.where("metric"));
  if ((spec.kind == Kind::kHash) != (spec.metric == Metric::kHamming))
    throw Error(cat(file.path(), ": a '", to_string(spec.kind), "' index cannot use the metric '",
                    to_string(spec.metric), "'"));
  summary.dim = reader.int_attribute("dim", 1, std::int64_t{1} << 24);
  summary.count = reader.int_attribute("count", 0, std::int64_t{1} << 40);
  if (spec.kind == Kind::kIvf) spec.nlist = reader.int_attribute("nlist", 1, kMaxLists);
  if (spec.kind == Kind::kHash) {
    spec.bits = reader.int_attribute("bits", 1, kMaxBits);
    spec.hash_method = parse_hash_method(reader.string_attribute("method"), reader.where("method"));
  }
  return summary;
}

}  // namespace

void write_index_file(const std::string& path, const Index& index, const IndexSource& source) {
  h5::File file = h5::File::create(path, nullptr);
  write_common(file, index);
  write_source(file, index, source);
  if (const auto* flat = std::get_if<FlatIndex>(&index)) {
    write_matrix(file, "/vectors", flat->vectors);
    write_ids(file, "/ids", flat->ids);
  } else if (const auto* ivf = std::get_if<IvfIndex>(&index)) {
    write_matrix(file, "/centroids", ivf->centroids);
    write_ids(file, "/list_offsets", ivf->list_offsets);
    write_ids(file, "/ids", ivf->ids);
    write_matrix(file, "/vectors", ivf->vectors);
  } else {
    const auto& hash = std::get<HashIndex>(index);
    write_dataset(file, "/bits", H5T_STD_U64LE, static_cast<hsize_t>(hash.size()),
                  {static_cast<hsize_t>(hash.words())}, hash.codes.data());
    write_ids(file, "/ids", hash.ids);
    write_dataset(file, "/mean", H5T_IEEE_F32LE, static_cast<hsize_t>(hash.dim()), {},
                  hash.mean.data());
    write_matrix(file, "/rotation", hash.rotation);
  }
  file.close();
}

void write_index(const std::string& output, const Index& index, const mpi::Communicator& comm,
                 const IndexSource& source) {
  const std::string temporary = temporary_path_for(output, comm);
  mpi::collectively(comm, [&] {
    if (!comm.is_root()) return;
    try {
      write_index_file(temporary, index, source);
      commit_output(temporary, output);
    } catch (...) {
      std::remove(temporary.c_str());
      throw;
    }
  });
  unregister_temporary(temporary);
}

Index read_index_file(const std::string& path) {
  const h5::File file = h5::File::open(path, h5::File::Mode::kReadOnly, nullptr);
  const Reader reader{file};
  const IndexSummary header = read_header(reader);
  switch (header.spec.kind) {
    case Kind::kFlat:
      return read_flat(reader, header.spec.metric, header.dim, header.count);
    case Kind::kIvf:
      return read_ivf(reader, header.spec.metric, header.dim, header.count);
    case Kind::kHash:
      return read_hash(reader, header.dim, header.count);
  }
  throw Error("internal: unknown index kind");
}

IndexSummary read_index_summary(const std::string& path) {
  const h5::File file = h5::File::open(path, h5::File::Mode::kReadOnly, nullptr);
  const Reader reader{file};
  IndexSummary summary = read_header(reader);
  if (auto codes = h5::read_string_attribute(file.id(), "codes", file.path()))
    summary.source.codes = *codes;
  if (h5::exists(file, "/labels"))
    summary.source.labels = reader.values<std::int32_t>("/labels", summary.count);
  return summary;
}

}  // namespace aepipe::index
