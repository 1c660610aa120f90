#include "h5/check.hpp"

#include "util/error.hpp"

namespace aepipe::h5 {
namespace {

herr_t keep_innermost(unsigned depth, const H5E_error2_t* entry, void* out) {
  // The walk goes from the innermost frame (depth 0) outwards; depth 0 says why.
  if (depth == 0 && entry->desc != nullptr) *static_cast<std::string*>(out) = entry->desc;
  return 0;
}

}  // namespace

void silence_library_errors() {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

std::string library_reason() {
  std::string reason;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost, &reason);
  H5Eclear2(H5E_DEFAULT);
  return reason;
}

hid_t check_id(hid_t id, const std::string& context) {
  if (id >= 0) return id;
  const std::string reason = library_reason();
  throw Error(reason.empty() ? context : cat(context, ": ", reason));
}

void check_status(herr_t status, const std::string& context) {
  if (status >= 0) return;
  const std::string reason = library_reason();
  throw Error(reason.empty() ? context : cat(context, ": ", reason));
}

}  // namespace aepipe::h5
