#include "util/report.hpp"

#include <cstdio>

namespace aepipe {
namespace {

// One fprintf per line so lines of different ranks never interleave mid-line.
void print_line(const char* kind, const std::string& message, int rank) {
  std::string line = message;
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  std::fprintf(stderr, "aepipe: %s: %s (rank %d)\n", kind, line.c_str(), rank);
  std::fflush(stderr);
}

}  // namespace

void print_error(const std::string& message, int rank) {
  print_line("error", message, rank);
}
void print_warning(const std::string& message, int rank) {
  print_line("warning", message, rank);
}

}  // namespace aepipe
