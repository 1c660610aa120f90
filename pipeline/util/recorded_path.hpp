#pragma once
// Paths one file records of another (a codes file names its model and data file, a
// neighbours file its index and queries) are stored as they were given, often relative to
// the folder the job ran in. Read from elsewhere they are found beside the recording file.
#include <string>

namespace aepipe {

// `recorded` when it is absolute or exists from the working folder; else the same relative
// path from the folder of `recording_file` when something exists there; else `recorded`
// unchanged (so the error names what the file says).
std::string resolve_recorded_path(const std::string& recorded, const std::string& recording_file);

}  // namespace aepipe
