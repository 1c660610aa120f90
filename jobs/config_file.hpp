#pragma once
// INI config files: a `[<command>]` section holds that command's options under the same names
// as on the command line (`tile = 16`), keys before any section apply to every command, and
// sections of other commands are left to them. Repeat a key to give a multi-value option
// several values. Command-line values override the file.
//
// A job (`aepipe run`) may run a command more than once: `[ingest:test]` is a second ingest
// stage; it takes every key of `[ingest]` that it does not set itself. `[job]` belongs to the
// runner.
#include <boost/program_options.hpp>
#include <set>
#include <string>
#include <vector>

namespace aepipe::jobs {

namespace po = boost::program_options;

// One key of one section ("" before any section) and its values in file order.
struct ConfigEntry {
  std::string section;
  std::string key;
  std::vector<std::string> values;
};

class ConfigFile {
 public:
  // Reads `path`. A section must be `job`, a command of `commands`, or `<command>:<label>`
  // (label: letters, digits, '_' or '-'). Throws UsageError naming the file and section.
  static ConfigFile read(const std::string& path, const std::set<std::string>& commands);

  const std::string& path() const { return path_; }
  const std::vector<ConfigEntry>& entries() const { return entries_; }
  bool has_section(const std::string& section) const;

 private:
  std::string path_;
  std::vector<ConfigEntry> entries_;  // one per (section, key), in the order keys first appear
};

// `[ingest:test]` -> "ingest"; `[ingest]` -> "ingest".
std::string command_of_section(const std::string& section);
// True for "<command>" and "<command>:<label>" with a command of `commands`.
bool is_command_section(const std::string& section, const std::set<std::string>& commands);

// What a command reads besides its command line: the file (may be null), `--set` overrides
// (which win over the file), and the sections to read, most specific first (`ingest:test`,
// `ingest`); global keys come last.
struct ConfigSource {
  const ConfigFile* file = nullptr;
  std::vector<ConfigEntry> overrides;
  std::vector<std::string> sections;
};

// Stores the source's values into `values` without replacing values already there (the
// command line's). Throws UsageError naming the file (or --set), section, key and value for
// an unknown key or a bad value.
void store_config(const ConfigSource& source, const po::options_description& options,
                  po::variables_map& values);

// Parses one `--set SECTION.KEY=VALUE` (or `KEY=VALUE` for every command).
ConfigEntry parse_override(const std::string& text);

}  // namespace aepipe::jobs
