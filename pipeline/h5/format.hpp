#pragma once
// The self-description every aepipe file carries on its root group (DESIGN "Data contracts"):
//   aepipe_format   string   the file kind: data, model, codes, index, neighbours
//   aepipe_version  int64    the layout version of that kind
#include <cstdint>
#include <string>

#include "h5/file.hpp"

namespace aepipe::h5 {

struct FormatTag {
  std::string kind;
  std::int64_t version = 0;
};

void write_format_tag(const File& file, const FormatTag& tag);

// "aepipe <version>": the created_by attribute every writer stores.
std::string created_by();

// Reads the tag; throws naming the file if it is missing or malformed.
FormatTag read_format_tag(const File& file);

// Throws unless the file is of `kind` with a version in [1, newest_known].
FormatTag require_format(const File& file, const std::string& kind, std::int64_t newest_known);

}  // namespace aepipe::h5
