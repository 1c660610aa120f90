#include "report/machine.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace aepipe::report {

std::string cpu_model_from_cpuinfo(const std::string& cpuinfo) {
  for (const char* wanted : {"model name", "Model", "Processor", "cpu"}) {
    std::istringstream in(cpuinfo);
    for (std::string line; std::getline(in, line);) {
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string key = line.substr(0, colon);
      key.erase(key.find_last_not_of(" \t") + 1);
      if (key != wanted) continue;
      const size_t start = line.find_first_not_of(" \t", colon + 1);
      if (start != std::string::npos) return line.substr(start);
    }
  }
  return "unknown";
}

MachineInfo describe_machine() {
  MachineInfo info;
  char name[256] = {};
  info.hostname = ::gethostname(name, sizeof name - 1) == 0 ? name : "unknown";
  std::ifstream in("/proc/cpuinfo");
  std::ostringstream text;
  text << in.rdbuf();
  info.cpu_model = cpu_model_from_cpuinfo(text.str());
  info.cores = std::thread::hardware_concurrency();
  return info;
}

}  // namespace aepipe::report
