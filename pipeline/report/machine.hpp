#pragma once
// What machine a report was made on: host name, CPU model and core count, for the page's
// "run" section (rank 0's node; ranks on other nodes may differ).
#include <string>

namespace aepipe::report {

struct MachineInfo {
  std::string hostname;
  std::string cpu_model;  // "unknown" when /proc/cpuinfo does not say
  unsigned cores = 0;     // logical CPUs (std::thread::hardware_concurrency)
};

MachineInfo describe_machine();

// The CPU model named in /proc/cpuinfo text: "model name" (x86), else "Model" or
// "Processor" (ARM), else "cpu" (POWER); "unknown" if none.
std::string cpu_model_from_cpuinfo(const std::string& cpuinfo);

}  // namespace aepipe::report
