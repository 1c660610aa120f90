#pragma once
// One `aepipe <command>`: its options (bound to the stage's option struct) and how to run it.
#include <boost/program_options.hpp>
#include <memory>
#include <string>
#include <vector>

#include "stages/context.hpp"

namespace aepipe::jobs {

namespace po = boost::program_options;

class Command {
 public:
  virtual ~Command() = default;
  virtual std::string name() const = 0;
  virtual std::string summary() const = 0;
  // The synopsis shown by --help, e.g. "aepipe inspect FILE [--json]".
  virtual std::string usage() const = 0;
  // Adds the command's own options, bound to members of the command object.
  virtual void add_options(po::options_description& options) = 0;
  virtual po::positional_options_description positional() const { return {}; }
  // Called after parsing (values are in the bound members); throws UsageError for bad values.
  virtual void run(const stages::StageContext& context) = 0;
};

// Every command this build offers, in the order --help lists them.
std::vector<std::unique_ptr<Command>> all_commands();

}  // namespace aepipe::jobs
