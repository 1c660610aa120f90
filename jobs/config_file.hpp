#pragma once
// INI config files: a `[<command>]` section holds that command's options under the same names
// as on the command line (`tile = 16`), keys before any section apply to every command, and
// sections of other commands (and `[job]`) are left to them. Repeat a key to give a
// multi-value option several values. Command-line values override the file.
#include <boost/program_options.hpp>
#include <set>
#include <string>

namespace aepipe::jobs {

namespace po = boost::program_options;

// Parses `path` for `command` against `options` and stores the values into `values` without
// replacing values already there. Throws UsageError naming the file, key and value for an
// unknown section or key or a bad value.
void store_config_file(const std::string& path, const std::string& command,
                       const std::set<std::string>& known_sections,
                       const po::options_description& options, po::variables_map& values);

}  // namespace aepipe::jobs
