#pragma once
// RAII ownership of one HDF5 identifier (file, group, dataset, dataspace, datatype,
// attribute or property list). The destructor closes without throwing; code that must know
// whether a close succeeded (a file flushed to a full disk) calls the owner's checked close.
#include <hdf5.h>

#include <utility>

namespace aepipe::h5 {

class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
  }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Gives up ownership without closing.
  hid_t release() { return std::exchange(id_, H5I_INVALID_HID); }
  // Closes now, ignoring errors (the no-throw twin of the owners' checked close).
  void reset() noexcept;

 private:
  hid_t id_ = H5I_INVALID_HID;
};

}  // namespace aepipe::h5
