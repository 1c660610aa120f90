#include "h5/strings.hpp"

#include "h5/check.hpp"
#include "util/error.hpp"

namespace aepipe::h5 {

Handle string_type() {
  Handle type(check_id(H5Tcopy(H5T_C_S1), "string type"));
  check_status(H5Tset_size(type.get(), H5T_VARIABLE), "string type");
  check_status(H5Tset_cset(type.get(), H5T_CSET_UTF8), "string type");
  return type;
}

Dataset create_string_dataset(const File& file, const std::string& name, hsize_t rows,
                              const DatasetLayout& layout) {
  if (file.parallel())
    throw Error(cat("internal: string dataset ", name, " must be written to a serial file"));
  DatasetLayout string_layout = layout;
  if (string_layout.chunk_rows == 0) string_layout.chunk_rows = 4096;
  Handle type = string_type();
  return Dataset::create(file, name, type.get(), rows, {}, string_layout);
}

void write_strings(Dataset& dataset, hsize_t first, std::span<const std::string> values) {
  std::vector<const char*> pointers;
  pointers.reserve(values.size());
  for (const auto& value : values) pointers.push_back(value.c_str());
  Handle type = string_type();
  dataset.write_rows_as(first, values.size(), type.get(), pointers.data());
}

std::vector<std::string> read_strings(const Dataset& dataset, hsize_t first, hsize_t count) {
  Handle stored = dataset.file_type();
  if (H5Tget_class(stored.get()) != H5T_STRING)
    throw Error(cat(dataset.where(), " does not hold strings"));
  std::vector<std::string> values;
  values.reserve(count);
  if (H5Tis_variable_str(stored.get()) > 0) {
    Handle type = string_type();
    check_status(H5Tset_cset(type.get(), H5Tget_cset(stored.get())), "string type");
    std::vector<char*> pointers(count, nullptr);
    dataset.read_rows_as(first, count, type.get(), pointers.data());
    for (char* text : pointers) {
      values.emplace_back(text != nullptr ? text : "");
      H5free_memory(text);
    }
    return values;
  }
  const size_t width = H5Tget_size(stored.get());
  std::vector<char> buffer(width * count);
  dataset.read_rows_as(first, count, stored.get(), buffer.data());
  for (hsize_t i = 0; i < count; ++i) {
    const char* text = buffer.data() + i * width;
    size_t length = 0;
    while (length < width && text[length] != '\0') ++length;
    values.emplace_back(text, length);
  }
  return values;
}

}  // namespace aepipe::h5
