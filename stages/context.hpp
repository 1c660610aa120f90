#pragma once
// What every stage receives besides its own options: the communicator and the options every
// command shares (DESIGN "The command line").
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mpi/communicator.hpp"
#include "util/metrics.hpp"

namespace aepipe::stages {

struct CommonOptions {
  std::string config;      // INI file the options came from ("" if none)
  bool force = false;      // replace an existing output
  std::uint64_t seed = 1;  // every random choice derives from it
  int threads = 0;         // compute threads per rank; 0: cores on the node / ranks
  bool quiet = false;      // no progress output
  std::string metrics;     // JSON-lines file ("" for none)
  // These options as given on the command line, (name, value) ("true" for a switch): a job
  // hands them to its stages, where they override the config file.
  std::vector<std::pair<std::string, std::string>> given;
};

struct StageContext {
  const mpi::Communicator& comm;
  CommonOptions common;
  MetricsLog metrics;
  bool show_progress() const { return comm.is_root() && !common.quiet; }
};

}  // namespace aepipe::stages
