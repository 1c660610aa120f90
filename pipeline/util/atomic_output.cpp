#include "util/atomic_output.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "mpi/agreement.hpp"
#include "util/error.hpp"

namespace aepipe {
namespace fs = std::filesystem;
namespace {

constexpr const char* kTemporaryMarker = ".aepipe-tmp-";

std::mutex& registry_mutex() {
  static std::mutex mutex;
  return mutex;
}
std::vector<std::string>& registry() {
  static std::vector<std::string> paths;
  return paths;
}

fs::path folder_of(const std::string& output) {
  fs::path folder = fs::path(output).parent_path();
  return folder.empty() ? fs::path(".") : folder;
}

// The output is named and its folder exists and takes new files (rank 0's view).
void require_writable_folder_of(const std::string& output) {
  if (output.empty()) throw UsageError("no output given (--output)");
  std::error_code error;
  const fs::path folder = folder_of(output);
  if (!fs::is_directory(folder, error))
    throw Error(cat("cannot write ", output, ": folder ", folder.string(), " does not exist"));
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    throw Error(cat("cannot write ", output, ": folder ", folder.string(), " is not writable (",
                    std::strerror(errno), ")"));
}

}  // namespace

bool is_temporary_output(const std::string& path) {
  const std::string leaf = fs::path(path).filename().string();
  return !leaf.empty() && leaf.front() == '.' && leaf.find(kTemporaryMarker) != std::string::npos;
}

void check_output_path(const std::string& output, const std::vector<std::string>& inputs,
                       bool force, const mpi::Communicator& comm) {
  mpi::collectively(comm, [&] {
    if (!comm.is_root()) return;
    require_writable_folder_of(output);
    std::error_code error;
    if (fs::is_directory(output, error))
      throw Error(cat("cannot write ", output, ": it is a folder"));
    for (const auto& input : inputs) {
      if (fs::exists(input, error) && fs::exists(output, error) &&
          fs::equivalent(input, output, error))
        throw Error(cat("the output ", output, " is also an input; write to another file"));
    }
    if (fs::exists(output, error) && !force)
      throw Error(cat("output ", output, " already exists (use --force to replace it)"));
  });
}

void check_output_folder(const std::string& output, const std::vector<std::string>& inputs,
                         bool force, const std::function<bool(const std::string&)>& replaceable,
                         const mpi::Communicator& comm) {
  mpi::collectively(comm, [&] {
    if (!comm.is_root()) return;
    require_writable_folder_of(output);
    std::error_code error;
    const fs::path target = fs::weakly_canonical(output, error);
    for (const auto& input : inputs) {
      if (input.empty()) continue;
      const fs::path path = fs::weakly_canonical(input, error);
      if (std::mismatch(target.begin(), target.end(), path.begin(), path.end()).first ==
          target.end())
        throw Error(cat("the input ", input, " is inside the output folder ", output,
                        "; write to another folder"));
    }
    if (!fs::exists(output, error)) return;
    if (!fs::is_directory(output, error))
      throw Error(cat("cannot write ", output, ": it exists and is not a folder"));
    if (!force) throw Error(cat("output ", output, " already exists (use --force to replace it)"));
    if (!replaceable(output))
      throw Error(cat("output ", output,
                      " exists and does not look like an earlier output of this command; not "
                      "replacing it, even with --force"));
  });
}

std::string temporary_path_for(const std::string& output, const mpi::Communicator& comm) {
  // Rank 0's pid and clock make the name unique among concurrent jobs writing one folder.
  std::int64_t tag[2] = {static_cast<std::int64_t>(::getpid()),
                         std::chrono::steady_clock::now().time_since_epoch().count()};
  comm.broadcast(std::span<std::int64_t>(tag, 2), 0);
  const fs::path path(output);
  const std::string leaf =
      cat(".", path.filename().string(), kTemporaryMarker, tag[0], "-", tag[1] % 1000000);
  std::string temporary = (folder_of(output) / leaf).string();
  register_temporary(temporary);
  return temporary;
}

void register_temporary(const std::string& path) {
  std::lock_guard lock(registry_mutex());
  registry().push_back(path);
}

void unregister_temporary(const std::string& path) {
  std::lock_guard lock(registry_mutex());
  auto& paths = registry();
  paths.erase(std::remove(paths.begin(), paths.end(), path), paths.end());
}

void remove_registered_temporaries() noexcept {
  std::lock_guard lock(registry_mutex());
  std::error_code ignored;
  for (const auto& path : registry()) fs::remove_all(path, ignored);
  registry().clear();
}

void commit_output(const std::string& temporary, const std::string& output) {
  std::error_code error;
  fs::rename(temporary, output, error);
  if (error) throw Error(cat("cannot rename ", temporary, " to ", output, ": ", error.message()));
  unregister_temporary(temporary);
}

void commit_output_folder(const std::string& temporary, const std::string& output) {
  std::error_code error;
  std::string aside;
  if (fs::exists(output, error)) {
    const fs::path path(output);
    aside = (folder_of(output) / cat(".", path.filename().string(), ".aepipe-old-", ::getpid()))
                .string();
    fs::rename(output, aside, error);
    if (error) throw Error(cat("cannot move ", output, " aside to ", aside, ": ", error.message()));
  }
  fs::rename(temporary, output, error);
  if (error) {
    const std::string message =
        cat("cannot rename ", temporary, " to ", output, ": ", error.message());
    if (!aside.empty()) fs::rename(aside, output, error);
    throw Error(message);
  }
  unregister_temporary(temporary);
  if (!aside.empty()) fs::remove_all(aside, error);
}

}  // namespace aepipe
