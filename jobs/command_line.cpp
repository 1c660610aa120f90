#include "jobs/command_line.hpp"

#include <cstdio>
#include <iostream>
#include <set>

#include "jobs/command.hpp"
#include "jobs/command_options.hpp"
#include "mpi/agreement.hpp"
#include "util/atomic_output.hpp"
#include "util/error.hpp"
#include "util/report.hpp"
#include "util/stop_signal.hpp"

#ifndef AEPIPE_VERSION_STRING
#define AEPIPE_VERSION_STRING "unknown"
#endif

namespace aepipe::jobs {
namespace {

void print_tool_help(const std::vector<std::unique_ptr<Command>>& commands) {
  std::printf("aepipe %s: learned compression and retrieval for image archives, on MPI\n\n",
              AEPIPE_VERSION_STRING);
  std::printf(
      "usage: aepipe <command> [options]     (under mpirun or srun for several ranks)\n"
      "       aepipe <command> --help\n       aepipe --version\n\ncommands:\n");
  for (const auto& command : commands)
    std::printf("  %-10s %s\n", command->name().c_str(), command->summary().c_str());
  std::printf(
      "\nexit codes: 0 ok, 1 failure, 2 usage error, 75 stopped by SIGTERM/SIGUSR1 after "
      "saving a checkpoint (rerun with --resume)\n");
}

// Parses and runs; usage problems throw UsageError identically on every rank.
int parse_and_run(int argc, char** argv, const mpi::Communicator& comm) {
  auto commands = all_commands();
  const std::string first = argc > 1 ? argv[1] : "";
  if (first.empty()) {
    if (comm.is_root()) print_tool_help(commands);
    return kExitUsage;
  }
  if (first == "--help" || first == "-h" || first == "help") {
    if (comm.is_root()) print_tool_help(commands);
    return 0;
  }
  if (first == "--version") {
    if (comm.is_root()) std::printf("aepipe %s\n", AEPIPE_VERSION_STRING);
    return 0;
  }
  Command* command = nullptr;
  for (const auto& candidate : commands)
    if (candidate->name() == first) command = candidate.get();
  if (command == nullptr)
    throw UsageError(cat("unknown command '", first, "' (aepipe --help lists them)"));
  const ParsedCommand parsed =
      parse_command(*command, std::vector<std::string>(argv + 2, argv + argc), {}, comm);
  if (!parsed.help_shown) run_parsed_command(*command, parsed.common, comm);
  return 0;
}

}  // namespace

void prepare_process_for_command(int argc, char** argv) {
  if (argc < 2) return;
  for (const auto& command : all_commands())
    if (command->name() == argv[1] && command->stops_on_request()) install_stop_handlers();
}

int run_command_line(int argc, char** argv, const mpi::Communicator& comm) {
  try {
    return parse_and_run(argc, argv, comm);
  } catch (const StopRequested& stop) {
    if (comm.is_root()) std::fprintf(stderr, "aepipe: %s\n", stop.what());
    return stop.exit_code();
  } catch (const mpi::RankError& error) {
    // Agreed on by every rank: one line, from rank 0; nothing temporary stays behind.
    remove_registered_temporaries();
    if (comm.is_root()) print_error(error.what(), error.rank());
    return error.exit_code();
  } catch (const UsageError& error) {
    // Raised identically on every rank from the arguments alone.
    remove_registered_temporaries();
    if (comm.is_root()) print_error(error.what(), comm.rank());
    return error.exit_code();
  } catch (const Error& error) {
    mpi::abort_job(comm, error.what(), error.exit_code());
  } catch (const std::bad_alloc&) {
    mpi::abort_job(comm, "out of memory", kExitFailure);
  } catch (const std::exception& error) {
    mpi::abort_job(comm, error.what(), kExitFailure);
  }
}

}  // namespace aepipe::jobs
