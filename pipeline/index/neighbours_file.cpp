#include "index/neighbours_file.hpp"

#include <cmath>
#include <cstdio>

#include "h5/attribute.hpp"
#include "h5/format.hpp"
#include "mpi/agreement.hpp"
#include "util/atomic_output.hpp"
#include "util/error.hpp"

namespace aepipe::index {
namespace {

// Ids and distances barely compress; chunks of about 1 MiB, no filter.
const h5::DatasetLayout kLayout{0, 0, false};

void write_info(const h5::File& file, const NeighboursInfo& info) {
  h5::write_format_tag(file, {kNeighboursFormat, kNeighboursVersion});
  const auto attribute = [&](const std::string& name, const auto& value) {
    h5::write_attribute(file.id(), name, value, file.path());
  };
  attribute("rows", info.rows);
  attribute("k", info.k);
  attribute("index", info.index);
  attribute("queries", info.queries);
  attribute("model", info.model);
  attribute("spec", info.spec);
  attribute("metric", to_string(info.metric));
  attribute("nprobe", info.nprobe);
  attribute("created_by", h5::created_by());
}

}  // namespace

NeighboursWriter::NeighboursWriter(const mpi::Communicator& comm, std::string output,
                                   const NeighboursInfo& info, bool query_labels)
    : comm_(comm), output_(std::move(output)), k_(info.k) {
  temporary_ = temporary_path_for(output_, comm_);
  mpi::or_abort(comm_, [&] {
    file_.emplace(h5::File::create(temporary_, &comm_));
    write_info(*file_, info);
    const auto rows = static_cast<hsize_t>(info.rows);
    const auto k = static_cast<hsize_t>(info.k);
    ids_.emplace(h5::Dataset::create(*file_, "/ids", H5T_STD_I64LE, rows, {k}, kLayout));
    distances_.emplace(
        h5::Dataset::create(*file_, "/distances", H5T_IEEE_F32LE, rows, {k}, kLayout));
    if (query_labels)
      labels_.emplace(
          h5::Dataset::create(*file_, "/query_labels", H5T_STD_I32LE, rows, {}, {0, 0, false}));
  });
}

NeighboursWriter::~NeighboursWriter() {
  if (finished_) return;
  labels_.reset();
  distances_.reset();
  ids_.reset();
  file_.reset();
  if (comm_.is_root()) std::remove(temporary_.c_str());
  unregister_temporary(temporary_);
}

void NeighboursWriter::write(std::int64_t first, const Neighbours& found,
                             std::span<const std::int32_t> labels) {
  if (found.queries > 0 && found.k != k_)
    throw Error(cat("internal: ", found.k, " neighbours per query written to a file of k = ", k_));
  if (labels_ && static_cast<Eigen::Index>(labels.size()) != found.queries)
    throw Error(cat("internal: ", labels.size(), " query labels for ", found.queries, " queries"));
  mpi::or_abort(comm_, [&] {
    const auto at = static_cast<hsize_t>(first);
    const auto rows = static_cast<hsize_t>(found.queries);
    ids_->write_rows(at, rows, found.ids.data());
    distances_->write_rows(at, rows, found.distances.data());
    if (labels_) labels_->write_rows(at, rows, labels.data());
  });
}

void NeighboursWriter::finish() {
  mpi::or_abort(comm_, [&] {
    labels_.reset();
    distances_.reset();
    ids_.reset();
    file_->close();
    file_.reset();
  });
  mpi::collectively(comm_, [&] {
    if (comm_.is_root()) commit_output(temporary_, output_);
  });
  finished_ = true;
  unregister_temporary(temporary_);
}

NeighboursFile read_neighbours_file(const std::string& path) {
  const h5::File file = h5::File::open(path, h5::File::Mode::kReadOnly, nullptr);
  h5::require_format(file, kNeighboursFormat, kNeighboursVersion);
  const auto int_attribute = [&](const std::string& name, std::int64_t min) {
    const std::int64_t value = h5::required_int_attribute(file.id(), name, path);
    if (value < min)
      throw Error(cat(path, ": attribute ", name, " is ", value, ", expected at least ", min));
    return value;
  };
  const auto string_attribute = [&](const std::string& name) {
    return h5::required_string_attribute(file.id(), name, path);
  };
  NeighboursFile result;
  NeighboursInfo& info = result.info;
  info.rows = int_attribute("rows", 0);
  info.k = int_attribute("k", 1);
  info.index = string_attribute("index");
  info.queries = string_attribute("queries");
  info.model = string_attribute("model");
  info.spec = string_attribute("spec");
  info.metric = parse_metric(string_attribute("metric"), cat(path, ":metric"));
  info.nprobe = int_attribute("nprobe", 0);

  const auto open = [&](const std::string& name, bool matrix) {
    h5::Dataset dataset = h5::Dataset::open(file, name);
    const auto dims = dataset.dims();
    const bool ok = dims.size() == (matrix ? 2u : 1u) &&
                    dims[0] == static_cast<hsize_t>(info.rows) &&
                    (!matrix || dims[1] == static_cast<hsize_t>(info.k));
    if (!ok) {
      std::string shape;
      for (std::size_t i = 0; i < dims.size(); ++i) shape += cat(i ? ", " : "", dims[i]);
      throw Error(cat(dataset.where(), " has shape [", shape, "], expected [", info.rows,
                      matrix ? cat(", ", info.k) : "", "]"));
    }
    return dataset;
  };
  Neighbours& found = result.neighbours;
  found.resize(info.rows, info.k);
  const auto rows = static_cast<hsize_t>(info.rows);
  const h5::Dataset ids = open("/ids", true);
  const h5::Dataset distances = open("/distances", true);
  if (rows > 0) {
    ids.read_rows(0, rows, found.ids.data());
    distances.read_rows(0, rows, found.distances.data());
  }
  for (std::size_t i = 0; i < found.ids.size(); ++i) {
    const auto row = static_cast<std::int64_t>(i) / info.k;
    const auto column = static_cast<std::int64_t>(i) % info.k;
    if (found.ids[i] < -1)
      throw Error(cat(ids.where(), " row ", row, " column ", column, " holds ", found.ids[i],
                      " (expected an id >= 0, or -1 for none)"));
    if (std::isnan(found.distances[i]))
      throw Error(cat(distances.where(), " row ", row, " column ", column, " is nan"));
  }
  if (h5::exists(file, "/query_labels")) {
    const h5::Dataset labels = open("/query_labels", false);
    result.query_labels.emplace(static_cast<std::size_t>(info.rows));
    if (rows > 0) labels.read_rows(0, rows, result.query_labels->data());
  }
  return result;
}

}  // namespace aepipe::index
