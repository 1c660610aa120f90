#include "h5/attribute.hpp"

#include <vector>

#include "h5/check.hpp"
#include "h5/handle.hpp"
#include "h5/library_guard.hpp"
#include "util/error.hpp"

namespace aepipe::h5 {
namespace {

void write_scalar(hid_t object, const std::string& name, hid_t file_type, hid_t memory_type,
                  const void* value, const std::string& where) {
  const std::string what = cat("cannot write attribute ", name, " of ", where);
  if (H5Aexists(object, name.c_str()) > 0) check_status(H5Adelete(object, name.c_str()), what);
  Handle space(check_id(H5Screate(H5S_SCALAR), what));
  Handle attribute(check_id(
      H5Acreate2(object, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT), what));
  check_status(H5Awrite(attribute.get(), memory_type, value), what);
}

Handle open_attribute(hid_t object, const std::string& name, const std::string& where) {
  return Handle(check_id(H5Aopen(object, name.c_str(), H5P_DEFAULT),
                         cat("cannot open attribute ", name, " of ", where)));
}

// The name of the file `object` lies in ("" if HDF5 cannot tell), for guard descriptions.
std::string file_name_of(hid_t object) {
  const ssize_t length = H5Fget_name(object, nullptr, 0);
  if (length <= 0) {
    library_reason();
    return "";
  }
  std::string name(static_cast<size_t>(length), '\0');
  H5Fget_name(object, name.data(), name.size() + 1);
  return name;
}

// "reading attribute <name> of <where>", adding the file when `where` does not name it.
std::string reading(hid_t object, const std::string& name, const std::string& where) {
  const std::string file = file_name_of(object);
  return cat("reading attribute ", name, " of ", where,
             file.empty() || where.find(file) != std::string::npos ? "" : cat(" in ", file));
}

H5T_class_t type_class(const Handle& attribute, const std::string& what) {
  Handle type(check_id(H5Aget_type(attribute.get()), what));
  return H5Tget_class(type.get());
}

}  // namespace

void write_attribute(hid_t object, const std::string& name, std::int64_t value,
                     const std::string& where) {
  write_scalar(object, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, where);
}

void write_attribute(hid_t object, const std::string& name, double value,
                     const std::string& where) {
  write_scalar(object, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, where);
}

void write_attribute(hid_t object, const std::string& name, const std::string& value,
                     const std::string& where) {
  // Variable-length UTF-8: what h5py writes for str attributes and reads back as str.
  Handle type(check_id(H5Tcopy(H5T_C_S1), "string type"));
  check_status(H5Tset_size(type.get(), H5T_VARIABLE), "string type");
  check_status(H5Tset_cset(type.get(), H5T_CSET_UTF8), "string type");
  const char* text = value.c_str();
  write_scalar(object, name, type.get(), type.get(), &text, where);
}

bool has_attribute(hid_t object, const std::string& name) {
  LibraryGuard guard(cat("looking for attribute ", name, " in ", file_name_of(object)));
  const htri_t found = H5Aexists(object, name.c_str());
  if (found < 0) library_reason();
  return found > 0;
}

std::optional<std::int64_t> read_int_attribute(hid_t object, const std::string& name,
                                               const std::string& where) {
  if (!has_attribute(object, name)) return std::nullopt;
  const LibraryGuard guard(reading(object, name, where));
  const std::string what = cat("attribute ", name, " of ", where);
  Handle attribute = open_attribute(object, name, where);
  if (type_class(attribute, what) != H5T_INTEGER) throw Error(cat(what, " is not an integer"));
  std::int64_t value = 0;
  check_status(H5Aread(attribute.get(), H5T_NATIVE_INT64, &value), cat("cannot read ", what));
  return value;
}

std::optional<double> read_float_attribute(hid_t object, const std::string& name,
                                           const std::string& where) {
  if (!has_attribute(object, name)) return std::nullopt;
  const LibraryGuard guard(reading(object, name, where));
  const std::string what = cat("attribute ", name, " of ", where);
  Handle attribute = open_attribute(object, name, where);
  const auto kind = type_class(attribute, what);
  if (kind != H5T_FLOAT && kind != H5T_INTEGER) throw Error(cat(what, " is not a number"));
  double value = 0;
  check_status(H5Aread(attribute.get(), H5T_NATIVE_DOUBLE, &value), cat("cannot read ", what));
  return value;
}

std::optional<std::string> read_string_attribute(hid_t object, const std::string& name,
                                                 const std::string& where) {
  if (!has_attribute(object, name)) return std::nullopt;
  const LibraryGuard guard(reading(object, name, where));
  const std::string what = cat("attribute ", name, " of ", where);
  Handle attribute = open_attribute(object, name, where);
  Handle stored(check_id(H5Aget_type(attribute.get()), what));
  if (H5Tget_class(stored.get()) != H5T_STRING) throw Error(cat(what, " is not a string"));
  Handle space(check_id(H5Aget_space(attribute.get()), what));
  if (H5Sget_simple_extent_npoints(space.get()) != 1) throw Error(cat(what, " is not a scalar"));
  if (H5Tis_variable_str(stored.get()) > 0) {
    Handle type(check_id(H5Tcopy(H5T_C_S1), "string type"));
    check_status(H5Tset_size(type.get(), H5T_VARIABLE), "string type");
    check_status(H5Tset_cset(type.get(), H5Tget_cset(stored.get())), "string type");
    char* text = nullptr;
    check_status(H5Aread(attribute.get(), type.get(), &text), cat("cannot read ", what));
    std::string value = text != nullptr ? text : "";
    H5free_memory(text);
    return value;
  }
  // Fixed-length strings (as written by other tools): may be null-padded.
  const size_t size = H5Tget_size(stored.get());
  std::vector<char> buffer(size + 1, '\0');
  check_status(H5Aread(attribute.get(), stored.get(), buffer.data()), cat("cannot read ", what));
  return std::string(buffer.data());
}

namespace {

template <class T>
T required(std::optional<T> value, const std::string& name, const std::string& where) {
  if (!value) throw Error(cat(where, " lacks the attribute ", name));
  return std::move(*value);
}

}  // namespace

std::int64_t required_int_attribute(hid_t object, const std::string& name,
                                    const std::string& where) {
  return required(read_int_attribute(object, name, where), name, where);
}

double required_float_attribute(hid_t object, const std::string& name, const std::string& where) {
  return required(read_float_attribute(object, name, where), name, where);
}

std::string required_string_attribute(hid_t object, const std::string& name,
                                      const std::string& where) {
  return required(read_string_attribute(object, name, where), name, where);
}

}  // namespace aepipe::h5
