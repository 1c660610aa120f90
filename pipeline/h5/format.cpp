#include "h5/format.hpp"

#include "h5/attribute.hpp"
#include "util/error.hpp"

namespace aepipe::h5 {

void write_format_tag(const File& file, const FormatTag& tag) {
  write_attribute(file.id(), "aepipe_format", tag.kind, file.path());
  write_attribute(file.id(), "aepipe_version", tag.version, file.path());
}

FormatTag read_format_tag(const File& file) {
  FormatTag tag;
  auto kind = read_string_attribute(file.id(), "aepipe_format", file.path());
  if (!kind)
    throw Error(cat(file.path(),
                    " is not an aepipe file: its root has no aepipe_format "
                    "attribute"));
  auto version = read_int_attribute(file.id(), "aepipe_version", file.path());
  if (!version)
    throw Error(
        cat(file.path(), " has aepipe_format '", *kind, "' but no aepipe_version attribute"));
  tag.kind = *kind;
  tag.version = *version;
  return tag;
}

FormatTag require_format(const File& file, const std::string& kind, std::int64_t newest_known) {
  FormatTag tag = read_format_tag(file);
  if (tag.kind != kind)
    throw Error(
        cat(file.path(), " is an aepipe '", tag.kind, "' file, expected a '", kind, "' file"));
  if (tag.version < 1 || tag.version > newest_known)
    throw Error(cat(file.path(), " has aepipe_version ", tag.version, "; this aepipe reads '", kind,
                    "' files of versions 1 to ", newest_known,
                    (tag.version > newest_known ? " (written by a newer aepipe?)" : "")));
  return tag;
}

std::string created_by() {
#ifdef AEPIPE_VERSION_STRING
  return std::string("aepipe ") + AEPIPE_VERSION_STRING;
#else
  return "aepipe unknown";
#endif
}

}  // namespace aepipe::h5
