#pragma once
// Compile-time map from C++ scalars to HDF5's native memory types (owned by the library,
// never closed).
#include <hdf5.h>

#include <cstdint>
#include <type_traits>

namespace aepipe::h5 {

template <class T>
hid_t native_type() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, float>)
    return H5T_NATIVE_FLOAT;
  else if constexpr (std::is_same_v<U, double>)
    return H5T_NATIVE_DOUBLE;
  else if constexpr (std::is_same_v<U, std::int8_t>)
    return H5T_NATIVE_INT8;
  else if constexpr (std::is_same_v<U, std::uint8_t>)
    return H5T_NATIVE_UINT8;
  else if constexpr (std::is_same_v<U, std::int16_t>)
    return H5T_NATIVE_INT16;
  else if constexpr (std::is_same_v<U, std::uint16_t>)
    return H5T_NATIVE_UINT16;
  else if constexpr (std::is_same_v<U, std::int32_t>)
    return H5T_NATIVE_INT32;
  else if constexpr (std::is_same_v<U, std::uint32_t>)
    return H5T_NATIVE_UINT32;
  else if constexpr (std::is_same_v<U, std::int64_t>)
    return H5T_NATIVE_INT64;
  else if constexpr (std::is_same_v<U, std::uint64_t>)
    return H5T_NATIVE_UINT64;
  else
    static_assert(sizeof(U) == 0, "no HDF5 native type for this type");
}

}  // namespace aepipe::h5
