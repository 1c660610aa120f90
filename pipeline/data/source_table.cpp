#include "data/source_table.hpp"

#include <algorithm>

#include "h5/check.hpp"
#include "h5/strings.hpp"
#include "util/error.hpp"

namespace aepipe::data {
namespace {

// The in-memory layout of one /sources row for HDF5's compound conversion.
struct SourceRow {
  const char* name;
  std::int64_t height;
  std::int64_t width;
};

h5::Handle source_row_type() {
  h5::Handle string = h5::string_type();
  h5::Handle type(h5::check_id(H5Tcreate(H5T_COMPOUND, sizeof(SourceRow)), "sources type"));
  h5::check_status(H5Tinsert(type.get(), "name", HOFFSET(SourceRow, name), string.get()),
                   "sources type");
  h5::check_status(H5Tinsert(type.get(), "height", HOFFSET(SourceRow, height), H5T_NATIVE_INT64),
                   "sources type");
  h5::check_status(H5Tinsert(type.get(), "width", HOFFSET(SourceRow, width), H5T_NATIVE_INT64),
                   "sources type");
  return type;
}

constexpr hsize_t kPiece = 1 << 16;  // rows copied at a time

}  // namespace

h5::Dataset create_source_table(const h5::File& file, hsize_t rows, int deflate_level) {
  h5::Handle type = source_row_type();
  return h5::Dataset::create(file, "/sources", type.get(), rows, {}, {4096, deflate_level, false});
}

void write_sources(h5::Dataset& table, hsize_t first, const std::vector<SourceRecord>& sources) {
  std::vector<SourceRow> rows;
  rows.reserve(sources.size());
  for (const auto& source : sources)
    rows.push_back({source.name.c_str(), source.height, source.width});
  h5::Handle type = source_row_type();
  table.write_rows_as(first, rows.size(), type.get(), rows.data());
}

std::vector<SourceRecord> read_sources(const h5::Dataset& table, hsize_t first, hsize_t count) {
  h5::Handle stored = table.file_type();
  if (H5Tget_class(stored.get()) != H5T_COMPOUND || H5Tget_member_index(stored.get(), "name") < 0 ||
      H5Tget_member_index(stored.get(), "height") < 0 ||
      H5Tget_member_index(stored.get(), "width") < 0)
    throw Error(cat(table.where(), " is not a table of {name, height, width}"));
  if (first + count > table.rows())
    throw Error(cat(table.where(), " has ", table.rows(), " rows, row ", first + count - 1,
                    " was asked for"));
  std::vector<SourceRow> rows(count, SourceRow{nullptr, 0, 0});
  h5::Handle type = source_row_type();
  table.read_rows_as(first, count, type.get(), rows.data());
  std::vector<SourceRecord> sources;
  sources.reserve(count);
  for (auto& row : rows) {
    sources.push_back({row.name != nullptr ? row.name : "", row.height, row.width});
    H5free_memory(const_cast<char*>(row.name));
  }
  return sources;
}

void copy_row_strings(const h5::File& from, const h5::File& to, int deflate_level, bool names) {
  for (const char* name : {"/names", "/classes"}) {
    if (!h5::exists(from, name) || (!names && std::string(name) == "/names")) continue;
    const h5::Dataset in = h5::Dataset::open(from, name);
    h5::Dataset out = h5::create_string_dataset(to, name, in.rows(), {0, deflate_level, false});
    for (hsize_t first = 0; first < in.rows(); first += kPiece) {
      const hsize_t count = std::min(kPiece, in.rows() - first);
      h5::write_strings(out, first, h5::read_strings(in, first, count));
    }
  }
  if (h5::exists(from, "/sources")) {
    const h5::Dataset in = h5::Dataset::open(from, "/sources");
    h5::Dataset out = create_source_table(to, in.rows(), deflate_level);
    for (hsize_t first = 0; first < in.rows(); first += kPiece) {
      const hsize_t count = std::min(kPiece, in.rows() - first);
      write_sources(out, first, read_sources(in, first, count));
    }
  }
}

}  // namespace aepipe::data
