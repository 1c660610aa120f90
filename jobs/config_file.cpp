#include "jobs/config_file.hpp"

#include <fstream>
#include <map>
#include <vector>

#include "util/error.hpp"

namespace aepipe::jobs {

void store_config_file(const std::string& path, const std::string& command,
                       const std::set<std::string>& known_sections,
                       const po::options_description& options, po::variables_map& values) {
  std::ifstream in(path);
  if (!in) throw UsageError(cat("cannot read config file ", path));
  po::parsed_options parsed(nullptr);
  try {
    // An empty description: every key comes back "unregistered" and is checked below.
    po::options_description none;
    parsed = po::parse_config_file(in, none, true);
  } catch (const po::error& error) {
    throw UsageError(cat("config file ", path, ": ", error.what()));
  }

  // Section values first, then global ones, so a section overrides the globals.
  std::map<std::string, std::vector<std::string>> in_section, global;
  std::vector<std::string> order_section, order_global;
  for (const auto& option : parsed.options) {
    const std::string& key = option.string_key;
    const size_t dot = key.find('.');
    const std::string section = dot == std::string::npos ? "" : key.substr(0, dot);
    const std::string name = dot == std::string::npos ? key : key.substr(dot + 1);
    if (!section.empty() && section != command) {
      if (known_sections.count(section) == 0)
        throw UsageError(cat("config file ", path, ": unknown section [", section, "]"));
      continue;  // another command's options
    }
    const std::string where =
        section.empty() ? cat("key '", name, "'") : cat("key '", name, "' in [", section, "]");
    if (name == "config" || name == "help")
      throw UsageError(cat("config file ", path, ": ", where, " cannot be set in a file"));
    if (options.find_nothrow(name, false) == nullptr)
      throw UsageError(cat("config file ", path, ": unknown ", where,
                           section.empty() ? cat(" (not an option of ", command, ")") : ""));
    auto& target = section.empty() ? global : in_section;
    auto& order = section.empty() ? order_global : order_section;
    if (target.count(name) == 0) order.push_back(name);
    for (const auto& value : option.value) target[name].push_back(value);
  }

  for (auto* group : {&in_section, &global}) {
    const auto& order = group == &in_section ? order_section : order_global;
    for (const auto& name : order) {
      const auto& texts = (*group)[name];
      po::parsed_options one(&options);
      po::option option(name, texts);
      option.original_tokens = texts;
      one.options.push_back(option);
      try {
        po::store(one, values);
      } catch (const po::error& error) {
        std::string joined;
        for (const auto& text : texts) joined += (joined.empty() ? "" : " ") + text;
        throw UsageError(cat("config file ", path, ": bad value '", joined, "' for key '", name,
                             "' (", error.what(), ")"));
      }
    }
  }
}

}  // namespace aepipe::jobs
