#include "jobs/config_file.hpp"

#include <algorithm>
#include <fstream>

#include "util/error.hpp"

namespace aepipe::jobs {
namespace {

bool is_label(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-';
  });
}

std::string describe_key(const std::string& section, const std::string& key) {
  return section.empty() ? cat("key '", key, "'") : cat("key '", key, "' in [", section, "]");
}

std::string join(const std::vector<std::string>& texts) {
  std::string joined;
  for (const auto& text : texts) joined += (joined.empty() ? "" : " ") + text;
  return joined;
}

// Stores one key's values; `origin` names the file or --set in messages.
void store_entry(const ConfigEntry& entry, const std::string& origin,
                 const po::options_description& options, po::variables_map& values) {
  po::parsed_options one(&options);
  po::option option(entry.key, entry.values);
  option.original_tokens = entry.values;
  one.options.push_back(option);
  try {
    po::store(one, values);
  } catch (const po::error& error) {
    throw UsageError(cat(origin, ": bad value '", join(entry.values), "' for ",
                         describe_key(entry.section, entry.key), " (", error.what(), ")"));
  }
}

}  // namespace

std::string command_of_section(const std::string& section) {
  return section.substr(0, section.find(':'));
}

bool is_command_section(const std::string& section, const std::set<std::string>& commands) {
  if (commands.count(section)) return true;
  const size_t colon = section.find(':');
  return colon != std::string::npos && commands.count(section.substr(0, colon)) &&
         is_label(section.substr(colon + 1));
}

ConfigFile ConfigFile::read(const std::string& path, const std::set<std::string>& commands) {
  std::ifstream in(path);
  if (!in) throw UsageError(cat("cannot read config file ", path));
  po::parsed_options parsed(nullptr);
  try {
    // An empty description: every key comes back "unregistered" and is checked by the reader.
    po::options_description none;
    parsed = po::parse_config_file(in, none, true);
  } catch (const po::error& error) {
    throw UsageError(cat("config file ", path, ": ", error.what()));
  }
  ConfigFile file;
  file.path_ = path;
  for (const auto& option : parsed.options) {
    const std::string& key = option.string_key;
    const size_t dot = key.find('.');
    ConfigEntry entry;
    entry.section = dot == std::string::npos ? "" : key.substr(0, dot);
    entry.key = dot == std::string::npos ? key : key.substr(dot + 1);
    if (!entry.section.empty() && entry.section != "job" &&
        !is_command_section(entry.section, commands))
      throw UsageError(cat("config file ", path, ": unknown section [", entry.section, "]"));
    const auto same = std::find_if(file.entries_.begin(), file.entries_.end(), [&](auto& e) {
      return e.section == entry.section && e.key == entry.key;
    });
    auto& target = same == file.entries_.end() ? file.entries_.emplace_back(entry) : *same;
    target.values.insert(target.values.end(), option.value.begin(), option.value.end());
  }
  return file;
}

bool ConfigFile::has_section(const std::string& section) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const ConfigEntry& entry) { return entry.section == section; });
}

void store_config(const ConfigSource& source, const po::options_description& options,
                  po::variables_map& values) {
  const std::string command = source.sections.empty() ? "" : source.sections.back();
  // Checks every key the command would see before storing any, so the first mistake in the
  // file is the one reported.
  const auto applies = [&](const ConfigEntry& entry) {
    return entry.section.empty() || std::find(source.sections.begin(), source.sections.end(),
                                              entry.section) != source.sections.end();
  };
  const auto check = [&](const ConfigEntry& entry, const std::string& origin) {
    if (entry.key == "config" || entry.key == "help")
      throw UsageError(
          cat(origin, ": ", describe_key(entry.section, entry.key), " cannot be set there"));
    if (options.find_nothrow(entry.key, false) == nullptr)
      throw UsageError(cat(origin, ": unknown ", describe_key(entry.section, entry.key),
                           entry.section.empty() ? cat(" (not an option of ", command, ")") : ""));
  };
  const std::string file_origin = source.file ? cat("config file ", source.file->path()) : "";
  for (const auto& entry : source.overrides)
    if (applies(entry)) check(entry, "--set");
  if (source.file)
    for (const auto& entry : source.file->entries())
      if (applies(entry)) check(entry, file_origin);

  // Most specific first: po::store keeps the first value it sees for a key.
  std::vector<std::string> scopes = source.sections;
  scopes.push_back("");
  for (const auto& scope : scopes)
    for (const auto& entry : source.overrides)
      if (entry.section == scope) store_entry(entry, "--set", options, values);
  if (source.file)
    for (const auto& scope : scopes)
      for (const auto& entry : source.file->entries())
        if (entry.section == scope) store_entry(entry, file_origin, options, values);
}

ConfigEntry parse_override(const std::string& text) {
  const size_t equals = text.find('=');
  const std::string name = text.substr(0, equals);
  const size_t dot = name.rfind('.');
  ConfigEntry entry;
  entry.section = dot == std::string::npos ? "" : name.substr(0, dot);
  entry.key = dot == std::string::npos ? name : name.substr(dot + 1);
  if (equals == std::string::npos || entry.key.empty() ||
      (dot != std::string::npos && entry.section.empty()))
    throw UsageError(cat("invalid --set '", text, "': expected SECTION.KEY=VALUE or KEY=VALUE"));
  entry.values.push_back(text.substr(equals + 1));
  return entry;
}

}  // namespace aepipe::jobs
