#pragma once
// Checked HDF5 calls. Every failure becomes an aepipe::Error that names what was being done
// (file and object) and adds HDF5's own innermost reason from its error stack.
#include <hdf5.h>

#include <string>

namespace aepipe::h5 {

// Turns off HDF5's automatic printing of its error stack to stderr; call once per process.
void silence_library_errors();

// The innermost message on HDF5's current error stack, or "" if none.
std::string library_reason();

// Returns `id` if valid, else throws Error("<context>: <HDF5 reason>").
hid_t check_id(hid_t id, const std::string& context);
// Returns normally if status >= 0, else throws like check_id.
void check_status(herr_t status, const std::string& context);

}  // namespace aepipe::h5
