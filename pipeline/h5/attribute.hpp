#pragma once
// Scalar attributes (integer, float, string) on a file's root or any object in it.
// In a parallel file, writing is collective and every rank must pass the same value.
#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>

namespace aepipe::h5 {

// `object` is a file, group or dataset id; `where` names it in messages.
void write_attribute(hid_t object, const std::string& name, std::int64_t value,
                     const std::string& where);
void write_attribute(hid_t object, const std::string& name, double value, const std::string& where);
void write_attribute(hid_t object, const std::string& name, const std::string& value,
                     const std::string& where);

bool has_attribute(hid_t object, const std::string& name);
// Each returns nullopt if the attribute is missing, and throws if it has another type.
std::optional<std::int64_t> read_int_attribute(hid_t object, const std::string& name,
                                               const std::string& where);
std::optional<double> read_float_attribute(hid_t object, const std::string& name,
                                           const std::string& where);
std::optional<std::string> read_string_attribute(hid_t object, const std::string& name,
                                                 const std::string& where);
// The same for attributes a contract requires: throw "<where> lacks the attribute <name>".
std::int64_t required_int_attribute(hid_t object, const std::string& name,
                                    const std::string& where);
double required_float_attribute(hid_t object, const std::string& name, const std::string& where);
std::string required_string_attribute(hid_t object, const std::string& name,
                                      const std::string& where);

}  // namespace aepipe::h5
