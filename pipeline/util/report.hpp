#pragma once
// The one-line messages of DESIGN rule 2: "aepipe: error: <what>, <where> (rank r)".
#include <string>

namespace aepipe {

void print_error(const std::string& message, int rank);
void print_warning(const std::string& message, int rank);

}  // namespace aepipe
