#pragma once
// The report's "how it ran" section: the job's config file verbatim, the machine (rank 0's
// node), the rank count and aepipe's version, and each stage's time and figures from a
// metrics file ({"stage":"run","event":"stage",...} lines of `aepipe run`, and every stage's
// own events). Rank 0 only.
#include <string>
#include <vector>

#include "report/html.hpp"
#include "report/json_lines.hpp"

namespace aepipe::stages {

struct RunFacts {
  std::string job_path;  // "" when no job file was given
  std::string job_text;  // its contents
  std::string metrics_path;
  std::vector<report::JsonEvent> metrics;
  int ranks = 1;
};

report::Section run_section(const RunFacts& facts);

// "rows 60000, psnr 21.3": the figures of an event worth a glance, for the stage table.
std::string event_figures(const report::JsonEvent& event);

}  // namespace aepipe::stages
