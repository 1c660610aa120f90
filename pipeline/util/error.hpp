#pragma once
// The two kinds of user-facing failure. Broken invariants use assert/abort instead.
//   Error       a run-time failure (bad file, bad value in data, I/O): exit code 1
//   UsageError  a mistake on the command line or in a config file: exit code 2
#include <sstream>
#include <stdexcept>
#include <string>

namespace aepipe {

inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, int exit_code = kExitFailure)
      : std::runtime_error(what), exit_code_(exit_code) {}
  int exit_code() const noexcept { return exit_code_; }

 private:
  int exit_code_;
};

class UsageError : public Error {
 public:
  explicit UsageError(const std::string& what) : Error(what, kExitUsage) {}
};

// Concatenates anything streamable: cat("file ", path, ", row ", row).
template <class... Parts>
std::string cat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

}  // namespace aepipe
