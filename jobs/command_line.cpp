#include "jobs/command_line.hpp"

#include <cstdio>
#include <iostream>
#include <set>

#include "jobs/command.hpp"
#include "jobs/config_file.hpp"
#include "mpi/agreement.hpp"
#include "nn/gemm.hpp"
#include "util/atomic_output.hpp"
#include "util/error.hpp"
#include "util/report.hpp"
#include "util/stop_signal.hpp"

#ifndef AEPIPE_VERSION_STRING
#define AEPIPE_VERSION_STRING "unknown"
#endif

namespace aepipe::jobs {
namespace {

void add_common_options(po::options_description& options, stages::CommonOptions& common) {
  options.add_options()("config", po::value(&common.config)->value_name("FILE"),
                        "INI file with this command's options in a [<command>] section")(
      "force", po::bool_switch(&common.force), "replace an existing output")(
      "seed", po::value(&common.seed)->value_name("N"), "seed of every random choice (default 1)")(
      "threads", po::value(&common.threads)->value_name("N"),
      "compute threads per rank (default: cores / ranks on the node)")(
      "quiet,q", po::bool_switch(&common.quiet), "no progress output")(
      "metrics", po::value(&common.metrics)->value_name("FILE"),
      "append JSON-lines metrics to FILE")("help,h", "show this help");
}

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
  std::set<std::string> sections{"job"};
  for (const auto& candidate : commands) {
    sections.insert(candidate->name());
    if (candidate->name() == first) command = candidate.get();
  }
  if (command == nullptr)
    throw UsageError(cat("unknown command '", first, "' (aepipe --help lists them)"));

  stages::CommonOptions common;
  po::options_description own(cat("options of ", command->name()));
  command->add_options(own);
  po::options_description shared("options of every command");
  add_common_options(shared, common);
  po::options_description all;
  all.add(own).add(shared);

  po::variables_map values;
  try {
    std::vector<std::string> arguments(argv + 2, argv + argc);
    po::store(
        po::command_line_parser(arguments)
            .options(all)
            .positional(command->positional())
            .style(po::command_line_style::unix_style ^ po::command_line_style::allow_guessing)
            .run(),
        values);
    if (values.count("help")) {
      if (comm.is_root()) {
        std::cout << "usage: " << command->usage() << "\n\n"
                  << command->summary() << "\n\n"
                  << all << std::flush;
      }
      return 0;
    }
    if (values.count("config"))
      store_config_file(values["config"].as<std::string>(), command->name(), sections, all, values);
    po::notify(values);
  } catch (const po::error& error) {
    throw UsageError(cat(error.what(), " (aepipe ", command->name(), " --help lists options)"));
  }
  if (common.threads < 0) throw UsageError(cat("--threads must be >= 0, got ", common.threads));
  nn::set_compute_threads(common.threads, comm.ranks_on_node());
  stages::StageContext context{comm, common, MetricsLog(common.metrics, comm.is_root())};
  mpi::collectively(comm, [&] { context.metrics.check_writable(); });
  command->run(context);
  return 0;
}

}  // namespace

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
