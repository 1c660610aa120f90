#pragma once
// Outputs appear whole or not at all (DESIGN rule 3): a stage writes to a temporary name in
// the output's own folder (so the final rename stays on one file system and is atomic) and
// renames it when every rank has closed it. Temporary names look like
//   <folder>/.<name>.aepipe-tmp-<tag>
// so `aepipe inspect` and people can tell a leftover from a finished file.
#include <functional>
#include <string>
#include <vector>

#include "mpi/communicator.hpp"

namespace aepipe {

// True if `path`'s file name has the temporary form above.
bool is_temporary_output(const std::string& path);

// Collective. Checks (on rank 0) that `output` may be written: its folder exists and is
// writable, and the output does not exist unless `force`; and that it is none of `inputs`.
// Throws Error on every rank otherwise.
void check_output_path(const std::string& output, const std::vector<std::string>& inputs,
                       bool force, const mpi::Communicator& comm);

// Collective. The same checks for an output that is a folder (written whole into a temporary
// folder beside it, then renamed): its parent folder exists and is writable; no input lies
// inside it; and it does not exist unless `force`, and even then only as a folder that
// `replaceable` accepts (a former output of the same kind), so --force never deletes a folder
// of other files. Throws Error on every rank otherwise.
void check_output_folder(const std::string& output, const std::vector<std::string>& inputs,
                         bool force, const std::function<bool(const std::string&)>& replaceable,
                         const mpi::Communicator& comm);

// A temporary path for `output`, the same on every rank (collective). Registered for removal
// if the process aborts.
std::string temporary_path_for(const std::string& output, const mpi::Communicator& comm);

// Process-wide list of temporary files (or folders, removed with their contents) to delete
// when the job ends abnormally.
void register_temporary(const std::string& path);
void unregister_temporary(const std::string& path);
void remove_registered_temporaries() noexcept;

// Renames `temporary` to `output` atomically (replacing it); throws naming both on failure.
void commit_output(const std::string& temporary, const std::string& output);

// Moves the finished folder `temporary` to `output`, replacing an existing `output` folder: that
// one is renamed aside first and removed after, so `output` is only ever missing between two
// renames. Throws naming the folders on failure (the old folder is put back).
void commit_output_folder(const std::string& temporary, const std::string& output);

}  // namespace aepipe
