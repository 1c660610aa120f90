#include "jobs/command_options.hpp"

#include <iostream>

#include "mpi/agreement.hpp"
#include "nn/gemm.hpp"
#include "util/error.hpp"
#include "util/report.hpp"

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

}  // namespace

std::set<std::string> command_names() {
  std::set<std::string> names;
  for (const auto& command : all_commands()) names.insert(command->name());
  return names;
}

ParsedCommand parse_command(Command& command, const std::vector<std::string>& arguments,
                            ConfigSource source, const mpi::Communicator& comm) {
  ParsedCommand parsed;
  po::options_description own(cat("options of ", command.name()));
  command.add_options(own);
  po::options_description shared("options of every command");
  add_common_options(shared, parsed.common);
  po::options_description all;
  all.add(own).add(shared);

  po::variables_map values;
  try {
    const po::parsed_options given =
        po::command_line_parser(arguments)
            .options(all)
            .positional(command.positional())
            .style(po::command_line_style::unix_style ^ po::command_line_style::allow_guessing)
            .run();
    po::store(given, values);
    for (const auto& option : given.options)
      if (shared.find_nothrow(option.string_key, false) != nullptr)
        for (const auto& value :
             option.value.empty() ? std::vector<std::string>{"true"} : option.value)
          parsed.common.given.emplace_back(option.string_key, value);
    if (values.count("help")) {
      if (comm.is_root()) {
        std::cout << "usage: " << command.usage() << "\n\n"
                  << command.summary() << "\n\n"
                  << all << std::flush;
      }
      parsed.help_shown = true;
      return parsed;
    }
    std::optional<ConfigFile> named;
    if (source.file == nullptr && values.count("config")) {
      named = ConfigFile::read(values["config"].as<std::string>(), command_names());
      source.file = &*named;
      source.sections = {command.name()};
    }
    if (source.file != nullptr || !source.overrides.empty()) store_config(source, all, values);
    po::notify(values);
  } catch (const po::error& error) {
    throw UsageError(cat(error.what(), " (aepipe ", command.name(), " --help lists options)"));
  }
  if (parsed.common.threads < 0)
    throw UsageError(cat("--threads must be >= 0, got ", parsed.common.threads));
  return parsed;
}

void run_parsed_command(Command& command, const stages::CommonOptions& common,
                        const mpi::Communicator& comm,
                        std::shared_ptr<std::vector<JsonObject>> events) {
  nn::set_compute_threads(common.threads, comm.ranks_on_node());
  // mpirun binds each rank to one core by default (Open MPI, 2 ranks or fewer): threads asked
  // for beyond the rank's CPUs share them and gain nothing. Said once per job (a job runs
  // several stages), by the lowest such rank.
  static bool warned = false;
  const int cpus = nn::available_cpus();
  const int short_rank = comm.allreduce_min(common.threads > cpus ? comm.rank() : comm.size());
  if (short_rank == comm.rank() && !warned)
    print_warning(cat("--threads ", common.threads, " but this rank may run on ", cpus,
                      cpus == 1 ? " CPU" : " CPUs",
                      " (its affinity mask), so the threads share it: launch with mpirun "
                      "--bind-to none (or --map-by slot:PE=N), or srun --cpus-per-task=N"),
                  comm.rank());
  if (short_rank < comm.size()) warned = true;
  stages::StageContext context{comm, common, MetricsLog(common.metrics, comm.is_root())};
  if (events) context.metrics.record_into(std::move(events));
  mpi::collectively(comm, [&] { context.metrics.check_writable(); });
  command.run(context);
}

}  // namespace aepipe::jobs
